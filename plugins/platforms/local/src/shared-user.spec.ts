/**
 * `[testbed] sharedUser = true`: the local platform's hosts all log in as one user name (as on
 * CloudLab), each with its own home. Through the platform itself: provision starts the testbed,
 * the inventory names one user, a file written in ~ on tb-0 is not in ~ on tb-1. 127.0.158.x:2630.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadPlatform, type ExecResult, type PlatformInstance, type Renderer } from '@labrig/core';
import { runSteps } from '@labrig/core';
import { down } from '@labrig/testbed';

const quiet: Renderer = { onEvent() {}, close() {} };
const workspace = join(import.meta.dirname, '../../../..');
let root: string;
let tbDir: string;
let p: PlatformInstance;

beforeAll(async () => {
  // The workspace under the repository (it resolves the platform plugin); the testbed where its users can reach their homes.
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'local-shared-'));
  tbDir = mkdtempSync(join(tmpdir(), 'labrig-local-shared-tb-'));
  chmodSync(tbDir, 0o755);
  mkdirSync(join(root, 'configs/platforms/local'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/local/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 2', `dir = ${JSON.stringify(tbDir)}`, 'addressBase = "127.0.158.0"', 'port = 2630', 'sharedUser = true', '[run]', 'timeout = "20s"'].join('\n'),
  );
  p = await loadPlatform(root, 'local');
}, 60_000);

afterAll(async () => {
  if (tbDir) await down(tbDir).catch(() => undefined);
  if (tbDir) rmSync(tbDir, { recursive: true, force: true });
  if (root) rmSync(root, { recursive: true, force: true });
}, 60_000);

it('one login name on every host, each with its own home', async () => {
  const hosts = await p.platform.provision!(p.cfg, p.ctx);
  expect(hosts.map((h) => h.name)).toEqual(['tb-0', 'tb-1']);
  expect(new Set(hosts.map((h) => h.user)).size).toBe(1);
  expect((await p.platform.inventory(p.cfg, p.ctx)).map((h) => h.user)).toEqual(hosts.map((h) => h.user));
  const connector = p.platform.createConnector(p.cfg, p.ctx);
  try {
    const r = await runSteps(
      [
        { name: 'write', hosts: (h) => h.name === 'tb-0', run: ({ remote }) => remote.exec(['sh', '-c', 'echo from-tb-0 > ~/mark && id -un && echo $HOME']) },
        { name: 'read', run: ({ remote }) => remote.exec(['sh', '-c', 'id -un; cat ~/mark 2>/dev/null || echo none']) },
      ],
      { root, hosts, connector, output: quiet },
    );
    expect(r.ok).toBe(true);
    const read = (host: string) => (r.results.find((x) => x.step === 'read' && x.host === host)?.output as ExecResult).stdout.trim().split('\n');
    expect(read('tb-0')).toEqual([hosts[0]!.user, 'from-tb-0']);
    expect(read('tb-1')).toEqual([hosts[0]!.user, 'none']);
  } finally {
    await connector.close();
  }
});
