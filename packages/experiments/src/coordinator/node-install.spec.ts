/**
 * ensureNode against real sshd hosts of a testbed (127.0.140.1-2:2480), with a stand-in for
 * nodejs.org/dist on 127.0.0.1 (testing/node-dist-server.ts) serving a real fixture tarball whose
 * node answers `-v` with the fixture's version and otherwise runs this machine's node. tb-0: the
 * host's own node, then an install and its re-use. tb-1: the failures (a named old node, a corrupt
 * SHASUMS256.txt, an unreachable dist, installing off), then an install without curl or wget.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { machine, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Remote } from '@labrig/core';
import { quoteArg } from '@labrig/core';
import { SshPool } from '@labrig/ssh';
import { down, toHost, up, type TestbedState } from '@labrig/testbed';
import { DEFAULT_NODE_VERSION, ensureNode, installNode, nodeArch, NodeUnavailable, parseShasums } from './node-install.js';
import { startNodeDistServer, type NodeDistServer } from './testing/node-dist-server.js';

const FIXTURE = 'v99.0.0';
const ARCH = nodeArch(machine()) ?? 'x64';
const TARBALL = `node-${FIXTURE}-linux-${ARCH}.tar.xz`;

describe('nodeArch and SHASUMS256.txt (pure)', () => {
  it('maps uname -m to the architecture of Node builds; anything else has none', () => {
    expect(nodeArch('x86_64')).toBe('x64');
    expect(nodeArch('aarch64')).toBe('arm64');
    expect(nodeArch('arm64')).toBe('arm64');
    expect(nodeArch('ppc64le')).toBe('ppc64le');
    expect(nodeArch('s390x')).toBe('s390x');
    expect(nodeArch('x86_64\n')).toBe('x64');
    for (const m of ['i686', 'armv6l', 'mips64', 'riscv64', '']) expect(nodeArch(m)).toBeUndefined();
  });

  it('finds the line of exactly that file', () => {
    const a = 'a'.repeat(64);
    const b = 'B'.repeat(64);
    const text = `${a}  node-v20.19.5-linux-x64.tar.gz\n${b}  node-v20.19.5-linux-x64.tar.xz\n`;
    expect(parseShasums(text, 'node-v20.19.5-linux-x64.tar.xz')).toBe('b'.repeat(64));
    expect(parseShasums(text, 'node-v20.19.5-linux-x64.tar')).toBeUndefined();
    expect(parseShasums(text, 'node-v20.19.5-linux-arm64.tar.xz')).toBeUndefined();
  });
});

describe('ensureNode on real sshd hosts', () => {
  let dir: string;
  let state: TestbedState;
  let pool: SshPool;
  let r0: Remote;
  let r1: Remote;
  let good: NodeDistServer;
  let corrupt: NodeDistServer;
  let closedPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'labrig-node-install-'));
    chmodSync(dir, 0o755);
    [good, corrupt] = await Promise.all([
      startNodeDistServer({ version: FIXTURE, arch: ARCH, dir: join(dir, 'dist-good') }),
      startNodeDistServer({ version: FIXTURE, arch: ARCH, dir: join(dir, 'dist-corrupt'), corrupt: true }),
    ]);
    // A loopback port nobody listens on.
    const s = createServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    closedPort = (s.address() as AddressInfo).port;
    await new Promise<void>((resolve) => s.close(() => resolve()));

    state = await up({ dir: join(dir, 'tb'), hosts: 2, addressBase: '127.0.140.0', port: 2480 });
    pool = new SshPool({ knownHostsFile: join(dir, 'known_hosts.labrig'), sshConfigFile: false, agent: false, defaultIdentityFiles: [] });
    const remotes = await Promise.all(state.hosts.map((h) => pool.connect(toHost(h))));
    r0 = remotes[0]!;
    r1 = remotes[1]!;
  });

  afterAll(async () => {
    try {
      await pool?.close();
      await Promise.all([good?.close(), corrupt?.close()]);
    } finally {
      if (dir) {
        await down(join(dir, 'tb'));
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  const home = (i: number): string => state.hosts[i]!.home;
  /** The entries of ~/.labrig on host i (none when it does not exist). */
  const labrigDir = (i: number): string[] => {
    try {
      return readdirSync(join(home(i), '.labrig')).sort();
    } catch {
      return [];
    }
  };
  const fails = async (p: Promise<unknown>): Promise<NodeUnavailable> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(NodeUnavailable);
    return e as NodeUnavailable;
  };

  it("uses the host's own node (v20 on the PATH): absolute path, nothing downloaded", async () => {
    const lines: string[] = [];
    const n = await ensureNode(r0, { dist: good.url, log: (l) => lines.push(l) });
    expect(n.installed).toBe(false);
    expect(n.path.startsWith('/')).toBe(true);
    expect(n.version).toMatch(/^v(2\d|[3-9]\d)\.\d+\.\d+$/);
    // It is the PATH's node, and it prints that version.
    expect((await r0.shell('command -v node')).stdout.trim()).toBe(n.path);
    expect((await r0.exec([n.path, '-v'])).stdout.trim()).toBe(n.version);
    expect(good.requests).toEqual([]);
    expect(lines).toEqual([`tb-0: using Node ${n.version} at ${n.path}`]);
  });

  it('installs when the host has none new enough; the installed node runs; a second call downloads nothing', async () => {
    const lines: string[] = [];
    const pathNode = (await r0.shell('command -v node')).stdout.trim();
    const n = await ensureNode(r0, { dist: good.url, version: FIXTURE, minMajor: 99, log: (l) => lines.push(l) });
    const installed = `${home(0)}/.labrig/node/bin/node`;
    expect(n).toEqual({ path: installed, version: FIXTURE, installed: true });
    expect(good.requests).toEqual([`/${FIXTURE}/SHASUMS256.txt`, `/${FIXTURE}/${TARBALL}`]);
    expect(lines[0]).toMatch(new RegExp(`^tb-0: no Node >= 99 \\(found v\\d+\\.\\d+\\.\\d+ at ${pathNode}\\); installing ${FIXTURE.replace(/\./g, '\\.')} \\(linux-${ARCH}\\) from ${good.url}$`));
    expect(lines).toContain(`tb-0: downloading ${TARBALL} on the host (curl)`);
    expect(lines.at(-1)).toBe(`tb-0: installed Node ${FIXTURE} at ${installed}`);
    // On the host: the fixture's node answers -v, and runs real JavaScript.
    expect((await r0.shell('~/.labrig/node/bin/node -v')).stdout).toBe(`${FIXTURE}\n`);
    expect((await r0.shell('~/.labrig/node/bin/node -e "console.log(6 * 7)"')).stdout).toBe('42\n');
    // ~/.labrig holds the link and the one tree it points at: no tarball, no temp folder.
    const entries = labrigDir(0);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toBe('node');
    expect(entries[1]).toMatch(new RegExp(`^node-${FIXTURE.replace(/\./g, '\\.')}-linux-${ARCH}\\.\\w{6}$`));
    expect((await r0.shell('find ~/.labrig -name "*.tar.xz" -o -name ".node-*"')).stdout).toBe('');

    const again = await ensureNode(r0, { dist: good.url, version: FIXTURE, minMajor: 99 });
    expect(again).toEqual({ path: installed, version: FIXTURE, installed: false });
    expect(good.requests).toHaveLength(2);
  });

  it('installNode replaces an earlier install (the old tree is removed)', async () => {
    const before = labrigDir(0);
    const n = await installNode(r0, { dist: good.url, version: FIXTURE, minMajor: 99 });
    expect(n).toEqual({ path: `${home(0)}/.labrig/node/bin/node`, version: FIXTURE, installed: true });
    expect(good.requests.filter((r) => r.endsWith('.tar.xz'))).toHaveLength(2);
    const after = labrigDir(0);
    expect(after).toHaveLength(2);
    expect(after[1]).not.toBe(before[1]);
    expect((await r0.shell('readlink ~/.labrig/node')).stdout.trim()).toBe(`${after[1]}/node-${FIXTURE}-linux-${ARCH}`);
    expect((await r0.shell('~/.labrig/node/bin/node -e "console.log(process.argv.length)"')).stdout).toBe('1\n');
  });

  it('coordinator.node naming an old node: NodeUnavailable naming host, path and version; never installs', async () => {
    await r1.shell('mkdir -p old-node/bin && printf "#!/bin/sh\\necho v18.19.0\\n" > old-node/bin/node && chmod +x old-node/bin/node');
    const e = await fails(ensureNode(r1, { node: 'old-node/bin/node', dist: good.url, file: 'configs/experiments/x.toml' }));
    const path = `${home(1)}/old-node/bin/node`;
    expect(e.host).toBe('tb-1');
    expect(e.found).toBe(`v18.19.0 at ${path}`);
    expect(e.message).toContain('tb-1');
    expect(e.message).toContain(`coordinator.node = ${path}, which is v18.19.0`);
    expect(e.hint).toContain('coordinator.node');
    expect(e.hint).toContain('configs/experiments/x.toml');
    expect(good.requests.filter((r) => r.endsWith('.tar.xz'))).toHaveLength(2); // unchanged
    expect(labrigDir(1)).toEqual([]);

    // An absolute path works the same; a missing one says so.
    const e2 = await fails(ensureNode(r1, { node: path, dist: good.url }));
    expect(e2.found).toBe(`v18.19.0 at ${path}`);
    const e3 = await fails(ensureNode(r1, { node: '/no/such/node' }));
    expect(e3.found).toBeUndefined();
    expect(e3.message).toContain('/no/such/node, which does not exist');
    // A good one given by path is used as it is.
    const real = (await r1.shell('command -v node')).stdout.trim();
    expect(await ensureNode(r1, { node: real, dist: '' })).toMatchObject({ path: real, installed: false });
  });

  it('installing off (nodeDist = ""): NodeUnavailable saying so', async () => {
    const e = await fails(ensureNode(r1, { dist: '', minMajor: 99, file: 'configs/experiments/x.toml' }));
    expect(e.message).toContain('installing Node is off (coordinator.nodeDist = "")');
    expect(e.message).toMatch(/^tb-1: no Node >= 99 \(found v\d+\.\d+\.\d+ at \/\S+\)/);
    expect(e.hint).toContain('configs/experiments/x.toml');
    expect(labrigDir(1)).toEqual([]);
  });

  it('a corrupt SHASUMS256.txt: checksum mismatch, download deleted, nothing left under ~/.labrig', async () => {
    const e = await fails(ensureNode(r1, { dist: corrupt.url, version: FIXTURE, minMajor: 99 }));
    expect(corrupt.sha256).not.toBe(corrupt.listedSha256);
    expect(e.message).toContain(`checksum mismatch: expected ${corrupt.listedSha256}, got ${corrupt.sha256}`);
    expect(e.hint).toContain('coordinator.nodeDist');
    expect(corrupt.requests).toEqual([`/${FIXTURE}/SHASUMS256.txt`, `/${FIXTURE}/${TARBALL}`]);
    expect(labrigDir(1)).toEqual([]); // ~/.labrig made, then emptied: no node, no download, no temp folder
  });

  it('the dist unreachable: NodeUnavailable naming the URL', async () => {
    const dist = `http://127.0.0.1:${closedPort}`;
    const e = await fails(ensureNode(r1, { dist, version: FIXTURE, minMajor: 99, file: 'configs/experiments/x.toml' }));
    expect(e.message).toContain(`cannot reach ${dist}/${FIXTURE}/SHASUMS256.txt`);
    expect(e.message).toContain('ECONNREFUSED');
    expect(e.hint).toContain('coordinator.nodeDist');
    expect(e.hint).toContain('configs/experiments/x.toml');
    // A dist that answers 404 (no such version) names the status.
    const e404 = await fails(ensureNode(r1, { dist: good.url, version: 'v99.1.0', minMajor: 99 }));
    expect(e404.message).toContain(`${good.url}/v99.1.0/SHASUMS256.txt answered HTTP 404`);
    expect(labrigDir(1)).toEqual([]);
  });

  describe('a host without curl or wget', () => {
    /** r1 with a PATH holding everything of /usr/bin and /bin but curl and wget. */
    let bare: Remote;
    beforeAll(async () => {
      await r1.shell(
        'd="$HOME/bare-bin"; mkdir -p "$d"; for f in /usr/bin/* /bin/*; do n=${f##*/}; case $n in curl|wget) continue ;; esac; [ -e "$d/$n" ] || ln -s "$f" "$d/$n"; done',
      );
      const path = `${home(1)}/bare-bin`;
      bare = {
        host: r1.host,
        exec: (argv, o) => r1.exec(argv, o),
        spawn: (argv, o) => r1.spawn(argv, o),
        shell: (script, o) => r1.shell(`PATH=${quoteArg(path)}; export PATH\n${script}`, o),
        putFile: (a, b, o) => r1.putFile(a, b, o),
        putDir: (a, b, o) => r1.putDir(a, b, o),
        getFile: (a, b, o) => r1.getFile(a, b, o),
      };
      expect((await bare.shell('command -v curl wget; command -v tar', { allowFailure: true })).stdout).toBe(`${path}/tar\n`);
    });

    it('a corrupt download is caught here, before anything is copied over', async () => {
      const lines: string[] = [];
      const before = corrupt.requests.length;
      const e = await fails(ensureNode(bare, { dist: corrupt.url, version: FIXTURE, minMajor: 99, log: (l) => lines.push(l) }));
      expect(e.message).toContain(`checksum mismatch: expected ${corrupt.listedSha256}, got ${corrupt.sha256}`);
      expect(lines).toContain(`tb-1: no curl or wget on the host: downloading ${TARBALL} here and copying it over`);
      expect(corrupt.requests.slice(before)).toEqual([`/${FIXTURE}/SHASUMS256.txt`, `/${FIXTURE}/${TARBALL}`]);
      expect(labrigDir(1)).toEqual([]);
    });

    it('downloads here, copies it over, the host verifies and installs', async () => {
      const before = good.requests.length;
      const n = await ensureNode(bare, { dist: good.url, version: FIXTURE, minMajor: 99 });
      expect(n).toEqual({ path: `${home(1)}/.labrig/node/bin/node`, version: FIXTURE, installed: true });
      expect(good.requests.slice(before)).toEqual([`/${FIXTURE}/SHASUMS256.txt`, `/${FIXTURE}/${TARBALL}`]);
      expect((await r1.shell('~/.labrig/node/bin/node -e "console.log(1 + 1)"')).stdout).toBe('2\n');
      expect((await r1.shell('find ~/.labrig -name "*.tar.xz" -o -name ".*.labrig-tmp-*"')).stdout).toBe('');
      expect(await ensureNode(bare, { dist: good.url, version: FIXTURE, minMajor: 99 })).toEqual({ ...n, installed: false });
      expect(good.requests.length).toBe(before + 2);
    });
  });

  it('DEFAULT_NODE_VERSION is a pinned v20', () => {
    expect(DEFAULT_NODE_VERSION).toMatch(/^v20\.\d+\.\d+$/);
  });
});
