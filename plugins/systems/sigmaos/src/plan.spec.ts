/**
 * Plans without a host: the dry-run plan of `deploy -c cloudlab` against a golden file (a temp
 * workspace with a CloudLab platform of 4 nodes from a servers.txt), `--n`, the system file's
 * checks, and what setup's plan holds (never a credential's content).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import deployExecutor from './executors/deploy/executor.js';
import setupExecutor from './executors/setup/executor.js';
import stopExecutor from './executors/stop/executor.js';
import { ctxFor, run } from './testing/harness.js';

const workspace = join(import.meta.dirname, '../../../..');
const GOLDEN = join(import.meta.dirname, '__golden__/sigmaos-deploy-cloudlab.plan.txt');
let root: string;
const o = { platform: 'cloudlab', dryRun: true, output: 'plain' as const };

function writeSystem(extra: string[] = []): void {
  writeFileSync(
    join(root, 'targets/sigmaos/system.toml'),
    [
      'system = "@labrig/system-sigmaos"',
      'tag = "mytag"',
      'branch = "master"',
      '[credentials]',
      '".aws/credentials" = "creds/credentials"',
      '".docker/config.json" = "creds/config.json"',
      ...extra,
    ].join('\n'),
  );
}

beforeAll(() => {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'plan-sigmaos-'));
  mkdirSync(join(root, 'configs/platforms/cloudlab'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/cloudlab/platform.toml'),
    ['platform = "@labrig/platform-cloudlab"', '[hosts]', 'serversFile = "servers.txt"', 'user = "alice"'].join('\n'),
  );
  writeFileSync(
    join(root, 'configs/platforms/cloudlab/servers.txt'),
    ['node0 c220g5-110531.wisc.cloudlab.us', 'node1 c220g5-110532.wisc.cloudlab.us', 'node2 c220g5-110533.wisc.cloudlab.us', 'node3 c220g5-110534.wisc.cloudlab.us', ''].join('\n'),
  );
  mkdirSync(join(root, 'targets/sigmaos'), { recursive: true });
  mkdirSync(join(root, 'creds'));
  writeFileSync(join(root, 'creds/credentials'), '[sigmaos]\naws_secret_access_key = plan-spec-secret\n');
  writeFileSync(join(root, 'creds/config.json'), '{"auths":{}}\n');
  writeSystem();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('dry runs', () => {
  it('deploy -c cloudlab matches the golden plan', async () => {
    const r = await run(() => deployExecutor(o, ctxFor(root)));
    expect(r.success, r.out).toBe(true);
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, `${r.out.trimEnd()}\n`);
    expect(`${r.out.trimEnd()}\n`).toBe(readFileSync(GOLDEN, 'utf8'));
    // Leader first, the token from the leader's step, followers in one step each.
    expect(r.out).toContain("docker swarm join --token '<token from leader:join-token on node0>'");
  });

  it('--n 2: the leader and one follower', async () => {
    const r = await run(() => deployExecutor({ ...o, n: 2 }, ctxFor(root)));
    expect(r.success, r.out).toBe(true);
    expect(r.out).toContain('./start-kernel.sh --boot node');
    expect(r.out).toMatch(/^ {2}node1\b/m);
    expect(r.out).not.toMatch(/^ {2}node[23]/m);
    const bad = await run(() => deployExecutor({ ...o, n: 9 }, ctxFor(root)));
    expect(bad.success).toBe(false);
    expect(bad.out).toMatch(/--n.*a whole number from 1 to 4/);
  });

  it('setup plan: every host, credentials by digest only, files written (not appended)', async () => {
    const r = await run(() => setupExecutor(o, ctxFor(root)));
    expect(r.success, r.out).toBe(true);
    expect(r.out).not.toContain('plan-spec-secret');
    expect(r.out).toMatch(/copy \.aws\/credentials -> \.aws\/credentials \(sha256 [0-9a-f]{12}, mode 600\)/);
    expect(r.out).toContain('run sudo tee /etc/security/limits.d/90-sigmaos.conf (with input)');
    expect(r.out).not.toMatch(/>>|tee -a/);
    expect(r.out.match(/^ {2}node\d/gm)?.length).toBe(6 * 4);
    const stop = await run(() => stopExecutor(o, ctxFor(root)));
    expect(stop.out).toContain('docker swarm leave --force');
  });

  it('system file errors name the file and field', async () => {
    writeSystem(['bogus = 1']);
    const unknown = await run(() => deployExecutor(o, ctxFor(root)));
    expect(unknown.success).toBe(false);
    expect(unknown.out).toMatch(/targets\/sigmaos\/system\.toml.*bogus/);
    writeSystem(['[kernel]', 'readyTimeout = "soon"']);
    const bad = await run(() => deployExecutor(o, ctxFor(root)));
    expect(bad.out).toMatch(/targets\/sigmaos\/system\.toml.*kernel\.readyTimeout/);
    writeFileSync(join(root, 'targets/sigmaos/system.toml'), ['system = "@labrig/system-sigmaos"', 'tag = "mytag"', '[credentials]', '".aws/credentials" = "creds/missing"'].join('\n'));
    const missing = await run(() => setupExecutor(o, ctxFor(root)));
    expect(missing.success).toBe(false);
    expect(missing.out).toMatch(/credentials\."\.aws\/credentials".*creds\/missing does not exist/);
    writeSystem();
  });
});
