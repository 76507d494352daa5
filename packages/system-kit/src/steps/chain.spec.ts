/**
 * Chain copy on 4 real sshd hosts behind a login host, in a network namespace whose link from this
 * machine is rate-limited by tc (the testbed's uplink): the file crosses the uplink once, every host
 * holds it verified, and hosts that hold it are left out. 127.0.151.x:2560.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Remote } from '@labrig/core';
import { SshPool, ensureDeployKey, type DeployKey } from '@labrig/ssh';
import { down, kill, restart, toHost, up, uplinkBytes, type TestbedState } from '@labrig/testbed';
import { sendChain } from './chain.js';

const SIZE = 16 * 1024 * 1024;
let work: string;
let tb: TestbedState;
let pool: SshPool;
let remotes: Remote[];
let key: DeployKey;
let file: string;
let sha: string;
const DEST = '.labrig/chain-spec/payload.bin';
const signal = new AbortController().signal;
const homeOf = (name: string) => tb.hosts.find((h) => h.name === name)!.home;
const shaOf = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'labrig-chain-'));
  chmodSync(work, 0o755);
  tb = await up({ dir: join(work, 'tb'), hosts: 4, login: true, hostsBehindLogin: 4, addressBase: '127.0.151.0', port: 2560, uplink: '40mbit' });
  pool = new SshPool({ knownHostsFile: join(work, 'known_hosts'), sshConfigFile: false });
  const jump = toHost(tb.login!);
  remotes = await Promise.all(tb.hosts.map((h) => pool.connect(toHost(h, { jump }))));
  key = ensureDeployKey(work, 'chain-spec');
  file = join(work, 'payload.bin');
  writeFileSync(file, randomBytes(SIZE));
  sha = shaOf(file);
}, 120_000);

afterAll(async () => {
  await pool?.close();
  if (tb) await down(tb.dir);
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

const send = () => sendChain({ localPath: file, sha256: sha, dest: DEST, mode: 0o640, hosts: remotes, key, knownHosts: readFileSync(tb.knownHostsFile, 'utf8'), signal });

describe('a chain copy into a cluster behind a thin uplink', { timeout: 120_000 }, () => {
  it('sends the file through the uplink once; every host holds it, verified, with its mode', async () => {
    const before = await uplinkBytes(tb.netns!);
    const r = await send();
    const through = (await uplinkBytes(tb.netns!)) - before;
    expect(r.results).toEqual(tb.hosts.map((h) => ({ host: h.name, status: 'ok' })));
    expect(r.bytesSent).toBe(SIZE);
    for (const h of tb.hosts) {
      const p = join(homeOf(h.name), DEST);
      expect(shaOf(p), h.name).toBe(sha);
      expect(statSync(p).mode & 0o777, h.name).toBe(0o640);
    }
    // Four copies arrived; the uplink carried about one (SSH's framing, a jump's second layer, ACKs).
    expect(through, `${through} bytes crossed the uplink for ${SIZE}`).toBeLessThanOrEqual(1.1 * SIZE);
    expect(through).toBeGreaterThanOrEqual(SIZE);
  });

  it('a second send sends nothing; a host whose copy was damaged is the only one fed again, by a neighbour', async () => {
    const again = await send();
    expect(again.bytesSent).toBe(0);
    expect(again.results.map((x) => x.status)).toEqual(['present', 'present', 'present', 'present']);

    const damaged = join(homeOf('tb-2'), DEST);
    const bytes = readFileSync(damaged);
    bytes[1000] = bytes[1000]! ^ 0xff;
    writeFileSync(damaged, bytes);
    const before = await uplinkBytes(tb.netns!);
    const fixed = await send();
    expect(fixed.results).toEqual([
      { host: 'tb-0', status: 'present' },
      { host: 'tb-1', status: 'present' },
      { host: 'tb-2', status: 'ok' },
      { host: 'tb-3', status: 'present' },
    ]);
    expect(shaOf(damaged)).toBe(sha);
    // Re-fed by a neighbour that holds it: nothing came through this machine's uplink but commands.
    expect(fixed.bytesSent).toBe(0);
    expect((await uplinkBytes(tb.netns!)) - before).toBeLessThan(0.05 * SIZE);
  });

  it('a host killed mid-chain: the others finish verified (re-fed by the last good host), it is reported; a rerun completes only it', async () => {
    const file2 = join(work, 'payload2.bin');
    writeFileSync(file2, randomBytes(SIZE));
    const sha2 = shaOf(file2);
    const dest = '.labrig/chain-spec/second.bin';
    const c = { localPath: file2, sha256: sha2, dest, mode: 0o644, hosts: remotes, key, knownHosts: readFileSync(tb.knownHostsFile, 'utf8'), signal };
    const sending = sendChain(c);
    // Once tb-1 has received a few MiB (and forwarded them), it dies.
    const dir = join(homeOf('tb-1'), '.labrig/chain-spec');
    const partial = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('second.bin.labrig-chain-')).map((f) => statSync(join(dir, f)).size)[0] ?? 0 : 0);
    for (let i = 0; i < 200 && partial() < 2 * 1024 * 1024; i++) await new Promise((r) => setTimeout(r, 25));
    expect(partial(), 'tb-1 never received 2 MiB').toBeGreaterThanOrEqual(2 * 1024 * 1024);
    await kill(tb, 'tb-1');
    const r = await sending;
    const byHost = Object.fromEntries(r.results.map((x) => [x.host, x]));
    expect(byHost['tb-0']!.status).toBe('ok');
    expect(byHost['tb-2']!.status, JSON.stringify(r.results)).toBe('ok');
    expect(byHost['tb-3']!.status, JSON.stringify(r.results)).toBe('ok');
    expect(byHost['tb-1']).toMatchObject({ status: 'failed' });
    expect((byHost['tb-1'] as { error: string }).error).toMatch(/tb-1|unreachable|refused|ended/i);
    for (const h of ['tb-0', 'tb-2', 'tb-3']) expect(shaOf(join(homeOf(h), dest)), h).toBe(sha2);
    expect(existsSync(join(homeOf('tb-1'), dest))).toBe(false);
    // The re-feed came from tb-0, not from here: this machine sent the file once.
    expect(r.bytesSent).toBe(SIZE);

    await restart(tb, 'tb-1');
    const before = await uplinkBytes(tb.netns!);
    const rerun = await sendChain(c);
    expect(rerun.results.map((x) => `${x.host}:${x.status}`)).toEqual(['tb-0:present', 'tb-1:ok', 'tb-2:present', 'tb-3:present']);
    expect(shaOf(join(homeOf('tb-1'), dest))).toBe(sha2);
    expect(rerun.bytesSent).toBe(0);
    expect((await uplinkBytes(tb.netns!)) - before).toBeLessThan(0.05 * SIZE);
  });
});
