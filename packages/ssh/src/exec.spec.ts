/** exec/spawn/shell against real sshd hosts from the testbed (127.0.20.1-4:2320). */
import { CommandFailed } from '@labrig/core';
import type { Remote } from '@labrig/core';
import type { TestbedHost } from '@labrig/testbed';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SshPool } from './pool.js';
import { useTestbed } from './testing/testbed.js';

const tb = useTestbed('exec', { hosts: 4, addressBase: '127.0.20.0', port: 2320 });
let pool: SshPool;
let remotes: Remote[];

beforeAll(async () => {
  pool = tb.pool();
  remotes = await Promise.all(tb.hosts.map((h) => pool.connect(h)));
});

describe('exec on 4 hosts', () => {
  it('stdout, stderr and exit code', async () => {
    const results = await Promise.all(
      remotes.map((r) => r.exec(['sh', '-c', 'echo "out-$1"; echo "err-$1" >&2; id -un', 'sh', r.host.name])),
    );
    results.forEach((res, i) => {
      const h = tb.state.hosts[i] as TestbedHost;
      expect(res.exitCode).toBe(0);
      expect(res.signal).toBeNull();
      expect(res.stdout).toBe(`out-${h.name}\n${h.user}\n`);
      expect(res.stderr).toBe(`err-${h.name}\n`);
    });
    expect(pool.stats().connectionsOpened).toBe(4);
  });

  it('exit 7 -> CommandFailed with exitCode 7; allowFailure returns it', async () => {
    const r = remotes[0] as Remote;
    const err = await r.exec(['sh', '-c', 'echo bad thing >&2; exit 7']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    const cf = err as CommandFailed;
    expect(cf.exitCode).toBe(7);
    expect(cf.signal).toBeNull();
    expect(cf.host).toBe('tb-0');
    expect(cf.stderrTail).toBe('bad thing');
    expect(cf.command).toContain('exit 7');
    const res = await r.exec(['sh', '-c', 'exit 7'], { allowFailure: true });
    expect(res.exitCode).toBe(7);
    const sh = await r.shell('exit 3', { allowFailure: true });
    expect(sh.exitCode).toBe(3);
  });

  it('a command killed by a signal reports the signal', async () => {
    const r = remotes[1] as Remote;
    const res = await r.exec(['sh', '-c', 'kill -KILL $$'], { allowFailure: true });
    expect(res.signal).toBe('SIGKILL');
    expect(res.exitCode).toBeNull();
    const err = await r.exec(['sh', '-c', 'kill -TERM $$']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    expect((err as CommandFailed).signal).toBe('SIGTERM');
  });

  it('pty: tty prints /dev/pts/N', async () => {
    const res = await (remotes[2] as Remote).exec(['tty'], { pty: true });
    expect(res.stdout.trim()).toMatch(/^\/dev\/pts\/\d+$/);
    const noPty = await (remotes[2] as Remote).exec(['tty'], { allowFailure: true });
    expect(noPty.stdout.trim()).toBe('not a tty');
  });

  it('env and cwd arrive (quoted)', async () => {
    const env = { A: `x y'z`, B: '$HOME `id` ;', EMPTY: '' };
    const res = await (remotes[3] as Remote).exec(['sh', '-c', 'pwd; printf "%s|%s|%s|\\n" "$A" "$B" "$EMPTY"'], {
      cwd: '/usr/share',
      env,
    });
    expect(res.stdout).toBe(`/usr/share\n${env.A}|${env.B}||\n`);
    const missing = await (remotes[3] as Remote).exec(['true'], { cwd: '/no/such dir', allowFailure: true });
    expect(missing.exitCode).not.toBe(0);
  });

  it('stdin bytes then EOF; output streams before the end', async () => {
    const r = remotes[0] as Remote;
    const res = await r.exec(['wc', '-c'], { stdin: Buffer.alloc(100_000, 'a') });
    expect(res.stdout.trim()).toBe('100000');
    const chunks: Array<{ at: number; text: string }> = [];
    const t0 = Date.now();
    const streamed = await r.exec(['sh', '-c', 'echo first; sleep 0.6; echo second'], {
      onStdout: (c) => chunks.push({ at: Date.now() - t0, text: c.toString() }),
    });
    expect(streamed.stdout).toBe('first\nsecond\n');
    expect(chunks[0]?.text).toBe('first\n');
    expect(chunks[0]!.at).toBeLessThan(streamed.durationMs - 400);
  });

  it('spawn: a prompt answered later', async () => {
    const r = remotes[1] as Remote;
    let out = '';
    let sawPrompt!: () => void;
    const prompted = new Promise<void>((res) => (sawPrompt = res));
    const cmd = r.spawn(['sh', '-c', 'printf "continue? (y/n) "; read x; echo "got:$x"'], {
      onStdout: (c) => {
        out += c.toString();
        if (out.includes('(y/n)')) sawPrompt();
      },
    });
    await prompted;
    await new Promise((res) => setTimeout(res, 200)); // still waiting for us
    cmd.write('y\n');
    cmd.end();
    const res = await cmd.result;
    expect(res.stdout).toBe('continue? (y/n) got:y\n');
  });

  it('spawn: drain() waits while the command does not read, so a large stream is not held here', async () => {
    const r = remotes[1] as Remote;
    const cmd = r.spawn(['sh', '-c', 'sleep 1; wc -c']);
    const t0 = performance.now();
    await cmd.drain(); // before anything is written: resolves once the channel is open
    const opened = performance.now() - t0;
    cmd.write(Buffer.alloc(8 * 1024 * 1024, 7)); // more than SSH's window: it cannot all leave
    const t1 = performance.now();
    await cmd.drain();
    const waited = performance.now() - t1;
    cmd.end();
    const res = await cmd.result;
    expect(res.stdout.trim()).toBe(String(8 * 1024 * 1024));
    expect(opened).toBeLessThan(900);
    // It resolved only once the remote started reading (after its 1 s sleep).
    expect(waited).toBeGreaterThan(500);
    // A finished command drains at once.
    await cmd.drain();
  });

  it('spawn + kill sends a signal to the remote process', async () => {
    const r = remotes[2] as Remote;
    const cmd = r.spawn(['sleep', '30']);
    await new Promise((res) => setTimeout(res, 300));
    const t0 = Date.now();
    cmd.kill();
    const err = await cmd.result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    expect((err as CommandFailed).signal).toBe('SIGTERM');
    expect(Date.now() - t0).toBeLessThan(1500);
    // The process is gone on the remote.
    const ps = await r.exec(['sh', '-c', 'pgrep -u "$(id -u)" -x sleep || true']);
    expect(ps.stdout.trim()).toBe('');
  });

  it('abort kills the remote command and rejects with the reason', async () => {
    const r = remotes[3] as Remote;
    const ac = new AbortController();
    const p = r.exec(['sleep', '30'], { signal: ac.signal });
    await new Promise((res) => setTimeout(res, 300));
    const t0 = Date.now();
    ac.abort(new Error('step timeout'));
    await expect(p).rejects.toThrow('step timeout');
    expect(Date.now() - t0).toBeLessThan(200);
    await new Promise((res) => setTimeout(res, 300));
    const ps = await r.exec(['sh', '-c', 'pgrep -u "$(id -u)" -x sleep || true']);
    expect(ps.stdout.trim()).toBe('');
  });
});

/** Tricky strings: quotes, spaces, $, newlines, unicode, ;, backticks, *, \, empty, leading -. */
function randomArg(rand: () => number): string {
  const pieces = ["'", '"', ' ', '$', '$HOME', '${x}', '\n', '\t', 'é', '日本', '🙂', ';', '`id`', '*', '?', '\\', '\\n', '-', '--x', '&&', '|', '>', '<', '(', ')', '#', '~', '!', '%s', '\r', '=', 'a', 'Z', '9'];
  const n = Math.floor(rand() * 8);
  let s = rand() < 0.2 ? '-' : '';
  for (let i = 0; i < n; i++) {
    if (rand() < 0.15) s += String.fromCodePoint(0x20 + Math.floor(rand() * 0x2000));
    else s += pieces[Math.floor(rand() * pieces.length)];
  }
  return s;
}

describe('quoting', () => {
  it('200 random strings arrive byte-exact', async () => {
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const args = ['', '-n', '-', "'", '\\', ...Array.from({ length: 195 }, () => randomArg(rand))];
    expect(args).toHaveLength(200);
    const chunks: Buffer[] = [];
    await (remotes[0] as Remote).exec(['printf', '%s\\0', ...args], { onStdout: (c) => chunks.push(c) });
    const raw = Buffer.concat(chunks);
    expect(raw.equals(Buffer.from(args.map((a) => `${a}\0`).join(''), 'utf8'))).toBe(true);
    const got = raw.toString('utf8').split('\0').slice(0, -1);
    expect(got).toEqual(args);
    // Also through sh -c "$@", cwd and env.
    const viaShell = await (remotes[1] as Remote).exec(['sh', '-c', 'printf "%s\\0" "$@"', 'sh', ...args.slice(0, 50)], {
      env: { V: args[7] as string },
      cwd: '/',
    });
    expect(viaShell.stdout.split('\0').slice(0, -1)).toEqual(args.slice(0, 50));
  });
});
