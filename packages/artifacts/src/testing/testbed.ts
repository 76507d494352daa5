/**
 * The testbed of an artifacts integration spec (test-only: not part of the build). `useTestbed`
 * starts sshd hosts and the services asked for (S3, registry) in a fresh temp dir (mode 0755, so
 * the host users can reach their files) before the spec's tests, and afterwards closes its SSH
 * pool and tears the testbed down. Every spec stays inside 127.0.50.0/24, port 2350, each with
 * its own first address.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { Host, Remote } from '@labrig/core';
import { SshPool } from '@labrig/ssh';
import { down, toHost, up } from '@labrig/testbed';
import type { TestbedS3, TestbedState } from '@labrig/testbed';
import { afterAll, beforeAll } from 'vitest';

export const TEST_PORT = 2350;
export const TEST_BUCKET = 'labrig-artifacts';

export interface SpecTestbed {
  readonly dir: string;
  readonly state: TestbedState;
  readonly s3: TestbedS3;
  readonly hosts: Host[];
  /** Remotes of the hosts (one pool, closed at teardown). */
  remotes(): Promise<Remote[]>;
}

/** `up` in a temp dir, with the bucket TEST_BUCKET created when S3 is on. */
export function useTestbed(name: string, opts: { hosts: number; addressBase: string; s3?: boolean; registry?: boolean }): SpecTestbed {
  let dir: string | undefined;
  let state: TestbedState | undefined;
  let pool: SshPool | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), `labrig-artifacts-${name}-`));
    chmodSync(dir, 0o755);
    state = await up({ dir, hosts: opts.hosts, addressBase: opts.addressBase, port: TEST_PORT, s3: opts.s3 ?? false, registry: opts.registry ?? false });
    if (state.s3) {
      const c = new S3Client({
        endpoint: state.s3.endpoint,
        region: state.s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: state.s3.accessKeyId, secretAccessKey: state.s3.secretAccessKey },
      });
      await c.send(new CreateBucketCommand({ Bucket: TEST_BUCKET })).catch((e: unknown) => {
        if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(String((e as Error).name))) throw e;
      });
      c.destroy();
    }
  });
  afterAll(async () => {
    try {
      await pool?.close();
    } finally {
      if (dir) {
        await down(dir);
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
  const live = (): TestbedState => {
    if (!state) throw new Error(`the ${name} testbed is not up`);
    return state;
  };
  return {
    get dir() {
      return live().dir;
    },
    get state() {
      return live();
    },
    get s3() {
      const s = live().s3;
      if (!s) throw new Error('this testbed has no S3');
      return s;
    },
    get hosts() {
      return live().hosts.map((h) => toHost(h));
    },
    async remotes() {
      const st = live();
      pool ??= new SshPool({
        knownHostsFile: path.join(st.dir, 'known_hosts.labrig'),
        sshConfigFile: false,
        agent: false,
        defaultIdentityFiles: [],
      });
      const p = pool;
      return Promise.all(st.hosts.map((h) => p.connect(toHost(h))));
    },
  };
}
