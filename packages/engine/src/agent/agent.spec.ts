/**
 * The labrig agent end to end: labrig-run with LABRIG_AGENT=on in a temporary workspace whose
 * `e2e` platform is a testbed of 8 real sshd hosts (127.0.146.x:2510). Connections counted in the
 * hosts' sshd logs, host keys rotated by the testbed, the agent SIGKILLed between and during
 * commands, another unix user at the socket, Ctrl-C of one of two concurrent commands, a secret
 * canary looked for in the agent's heap after its command.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedConnections, down, rotateHostKey, up, type TestbedState } from '@labrig/testbed';
import { agentPaths, LINK_PROTOCOL } from '@labrig/runner/link';

const repository = join(import.meta.dirname, '../../../..');
const labrigRun = join(repository, 'packages/runner/bin/labrig-run.mjs');
/** The command as installed: the native client when cc built it, else the Node client. */
const labrigRunNative = join(repository, 'packages/runner/bin/labrig-run');
const HOSTS = 8;
let root: string;
let tbDir: string;
let state: TestbedState;

interface Ran {
  code: number;
  out: string;
}

/** labrig-run local:exec on the e2e platform through the agent. */
async function exec(cmd: string, extra: string[] = [], env: Record<string, string> = {}, client: 'node' | 'native' = 'node'): Promise<Ran> {
  const [file, ...pre] = client === 'node' ? [process.execPath, labrigRun] : [labrigRunNative];
  const r = await execa(file!, [...pre, '@labrig/platform-local:exec', 'e2e', 'configs/platforms/e2e', '--config=configs/platforms/e2e/platform.toml', `--cmd=${cmd}`, '--output=plain', ...extra], {
    cwd: root,
    all: true,
    reject: false,
    env: { LABRIG_AGENT: 'on', LABRIG_AGENT_DEBUG: '1', LABRIG_AGENT_IDLE: '5m', ...env },
  });
  return { code: r.exitCode ?? -1, out: r.all ?? '' };
}

const paths = () => agentPaths(root);
const agentPid = (): number => Number(JSON.parse(readFileSync(paths().pid, 'utf8')).pid);
const journal = (): Array<Record<string, unknown>> =>
  existsSync(paths().journal)
    ? readFileSync(paths().journal, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
const userOf = (name: string): string => state.hosts.find((h) => h.name === name)!.user;
const accepted = async (): Promise<number[]> => Promise.all(state.hosts.map((h) => acceptedConnections(state, h.name)));

/** The newest run folder's journal events. */
function runEvents(dir: string): Array<Record<string, unknown>> {
  if (!existsSync(join(dir, 'journal.jsonl'))) return [];
  return readFileSync(join(dir, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
const runDirs = (): string[] => (existsSync(join(root, '.labrig/runs')) ? readdirSync(join(root, '.labrig/runs')).filter((d) => /^\d{8}-/.test(d)).sort().map((d) => join(root, '.labrig/runs', d)) : []);

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One request to the agent over its socket (hello with the token first). */
function request(frame: Record<string, unknown>, token = readFileSync(paths().token, 'utf8').trim(), hello: Record<string, unknown> = {}): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const s = connect(paths().socket);
    let buf = '';
    s.on('data', (d) => (buf += String(d)));
    s.on('error', reject);
    s.on('close', () => resolve(buf.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)));
    s.on('connect', () => s.write(`${JSON.stringify({ t: 'hello', protocol: LINK_PROTOCOL, token, ...hello })}\n${JSON.stringify(frame)}\n`));
  });
}

beforeAll(async () => {
  mkdirSync(join(repository, 'tmp'), { recursive: true });
  root = mkdtempSync(join(repository, 'tmp', 'e2e-agent-'));
  tbDir = mkdtempSync(join(tmpdir(), 'labrig-agent-tb-'));
  writeFileSync(join(root, 'nx.json'), '{}\n');
  mkdirSync(join(root, 'configs/platforms/e2e'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/e2e/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', `hosts = ${HOSTS}`, `dir = ${JSON.stringify(tbDir)}`, 'addressBase = "127.0.146.0"', 'port = 2510', 's3 = false', 'registry = false', '[run]', 'timeout = "1m"'].join('\n'),
  );
  state = await up({ dir: tbDir, hosts: HOSTS, addressBase: '127.0.146.0', port: 2510 });
});

afterAll(async () => {
  try {
    if (root && existsSync(paths().pid)) process.kill(agentPid(), 'SIGTERM');
  } catch {
    /* gone */
  }
  if (tbDir) await down(tbDir);
  if (!process.env['KEEP']) {
    if (root) rmSync(root, { recursive: true, force: true });
    if (tbDir) rmSync(tbDir, { recursive: true, force: true });
  }
});

describe('the labrig agent', () => {
  it('runs a second command over the first one\'s connections: no new SSH login, every output and exit status right', async () => {
    const failing = 'tb-5';
    const cmd = `echo "u=$USER"; [ "$USER" != ${userOf(failing)} ]`;
    const first = await exec(cmd, ['--failure-policy=continue']);
    expect(first.code, first.out).toBe(1);
    const before = await accepted();
    const second = await exec(cmd, ['--failure-policy=continue']);
    expect(second.code, second.out).toBe(1);
    expect(await accepted()).toEqual(before);
    for (const r of [first, second]) {
      for (const h of state.hosts) expect(r.out).toContain(`[${h.name}] u=${h.user}`);
      expect(r.out).toMatch(new RegExp(`\\[${failing}\\] exec: FAILED exit 1`));
      expect(r.out).toContain(`${HOSTS - 1} ok, 0 skipped, 1 failed`);
    }
    const ends = runEvents(runDirs().at(-1)!).filter((e) => e['type'] === 'host-end');
    expect(ends.map((e) => `${String(e['host'])}:${String(e['status'])}`).sort()).toEqual(state.hosts.map((h) => `${h.name}:${h.name === failing ? 'failed' : 'ok'}`).sort());
    const j = journal();
    expect(j.filter((e) => e['event'] === 'start')).toHaveLength(1);
    expect(j.filter((e) => e['event'] === 'command-end').map((e) => e['code'])).toEqual([1, 1]);
  });

  it('the native client (bin/labrig-run, built with cc) runs the same commands over the same connections', async () => {
    expect(existsSync(join(repository, 'packages/runner/native/labrig-run-fast.c'))).toBe(true);
    const before = await accepted();
    const ends = journal().filter((e) => e['event'] === 'command-end').length;
    const ok = await exec('echo "n=$USER"', [], {}, 'native');
    expect(ok.code, ok.out).toBe(0);
    for (const h of state.hosts) expect(ok.out).toContain(`[${h.name}] n=${h.user}`);
    const bad = await exec('exit 4', ['--failure-policy=continue'], {}, 'native');
    expect(bad.code, bad.out).toBe(1);
    expect(bad.out).toContain(`0 ok, 0 skipped, ${HOSTS} failed`);
    const wrong = await exec('true', ['--bogus'], {}, 'native');
    expect(wrong.code).toBe(2);
    expect(wrong.out).toMatch(/option --bogus/);
    expect(await accepted()).toEqual(before);
    // All three ran in the agent (it was built: cc is there, as for the demo's C code).
    expect(existsSync(join(repository, 'packages/runner/native/.build/labrig-run-fast'))).toBe(true);
    expect(journal().filter((e) => e['event'] === 'command-end').map((e) => e['code']).slice(ends)).toEqual([0, 1, 2]);
    // An executor that runs in its own process is handed back to the Node client.
    const hosts = await execa(labrigRunNative, ['@labrig/platform-local:up', 'e2e', 'configs/platforms/e2e', '--config=configs/platforms/e2e/platform.toml'], { cwd: root, all: true, reject: false, env: { LABRIG_AGENT: 'on' } });
    expect(hosts.exitCode, hosts.all).toBe(0);
    expect(journal().filter((e) => e['event'] === 'command-end').length).toBe(ends + 3);
  });

  it('does not trust pooled connections past a known_hosts change: a rotated host key fails HostKeyMismatch', async () => {
    expect((await exec('true')).code).toBe(0);
    await rotateHostKey(state, 'tb-2'); // the old sshd session of the pooled connection stays
    // The user edits known_hosts (here: forgets tb-6, as `ssh-keygen -R` does).
    const kh = join(root, '.labrig/known_hosts');
    const tb6 = state.hosts.find((h) => h.name === 'tb-6')!;
    const lines = readFileSync(kh, 'utf8').split('\n');
    writeFileSync(kh, lines.filter((l) => !l.startsWith(`[${tb6.address}]:${tb6.port} `)).join('\n'));
    const r = await exec('true', ['--failure-policy=continue']);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/tb-2[\s\S]*HostKeyMismatch|host key of tb-2/i);
    expect(r.out).toContain(`${HOSTS - 1} ok, 0 skipped, 1 failed`);
    expect(journal().some((e) => e['event'] === 'connections-dropped')).toBe(true);
    // tb-6 was accepted again; forget tb-2's old key so the next tests reach it.
    const tb2 = state.hosts.find((h) => h.name === 'tb-2')!;
    writeFileSync(kh, readFileSync(kh, 'utf8').split('\n').filter((l) => !l.startsWith(`[${tb2.address}]:${tb2.port} `)).join('\n'));
    expect((await exec('true')).code).toBe(0);
  });

  it('survives SIGKILL between commands (one cold start) and during one (that command fails clearly, the next works, the run journal is whole)', async () => {
    const pid1 = agentPid();
    process.kill(pid1, 'SIGKILL');
    const after = await exec('echo between');
    expect(after.code, after.out).toBe(0);
    expect(after.out).toContain(`${HOSTS} ok`);
    const pid2 = agentPid();
    expect(pid2).not.toBe(pid1);

    const runsBefore = runDirs().length;
    const running = exec('sleep 3; echo never');
    await waitFor('the run to start on every host', () => {
      const dirs = runDirs();
      if (dirs.length <= runsBefore) return false;
      return runEvents(dirs.at(-1)!).filter((e) => e['type'] === 'attempt-start').length === HOSTS;
    });
    process.kill(pid2, 'SIGKILL');
    const killed = await running;
    expect(killed.code).toBe(1);
    expect(killed.out).toMatch(/the labrig agent \(pid \d+\) ended during this command/);
    const events = runEvents(runDirs().at(-1)!); // every line parses: nothing torn
    expect(events[0]!['type']).toBe('run-start');
    expect(events.filter((e) => e['type'] === 'attempt-start')).toHaveLength(HOSTS);
    const next = await exec('echo next');
    expect(next.code, next.out).toBe(0);
    expect(agentPid()).not.toBe(pid2);
  });

  it('a stopped agent (SIGSTOP) does not hang a command: after 5 s it runs in its own process (native and Node clients)', async () => {
    expect((await exec('true')).code).toBe(0);
    const pid = agentPid();
    const starts = () => journal().filter((e) => e['event'] === 'command-start').length;
    const before = starts();
    process.kill(pid, 'SIGSTOP');
    try {
      for (const client of ['node', 'native'] as const) {
        const t = Date.now();
        const r = await exec('echo "s=$USER"', [], {}, client);
        expect(r.code, r.out).toBe(0);
        expect(r.out).toMatch(/did not answer within 5 s/);
        for (const h of state.hosts) expect(r.out).toContain(`[${h.name}] s=${h.user}`);
        expect(Date.now() - t).toBeLessThan(15_000);
      }
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect((await exec('true')).code).toBe(0);
    expect(agentPid()).toBe(pid);
    // The resumed agent found the native client's request (sent with its hello) past its deadline:
    // refused, not run a second time. Only the last command ran in it.
    expect(starts()).toBe(before + 1);
  });

  it('is replaced, not reused, when the workspace\'s code changed (a client of another program)', async () => {
    expect((await exec('true')).code).toBe(0);
    const old = agentPid();
    const answer = await request({ t: 'status' }, undefined, { program: 'f'.repeat(64) });
    expect(answer[0]).toMatchObject({ t: 'refuse', code: 'program' });
    await waitFor('the old agent to retire', () => journal().some((e) => e['event'] === 'retire' && /another program/.test(String(e['reason']))));
    await waitFor('the old agent to exit', () => {
      try {
        process.kill(old, 0);
        return false;
      } catch {
        return true;
      }
    });
    const next = await exec('echo fresh');
    expect(next.code, next.out).toBe(0);
    expect(agentPid()).not.toBe(old);
  });

  it('cannot be used by another unix user', async () => {
    await exec('true'); // an agent runs
    const other = userOf('tb-0'); // a testbed user: a real account on this machine
    const script = `require('net').connect(${JSON.stringify(paths().socket)}).on('connect',()=>{console.log('CONNECTED');process.exit(0)}).on('error',e=>{console.log('ERR '+e.code);process.exit(0)})`;
    const r = spawnSync('su', ['-s', '/bin/sh', other, '-c', `${JSON.stringify(process.execPath)} -e ${JSON.stringify(script)}; cat ${JSON.stringify(paths().token)} 2>&1 || true`], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/ERR EACCES/);
    expect(r.stdout).not.toContain('CONNECTED');
    expect(r.stdout).toMatch(/Permission denied/);
    // A client without the token (the folder's mode changed by hand, say) is refused, and nothing
    // it sent along with its hello is handled.
    const starts = journal().filter((e) => e['event'] === 'command-start').length;
    const answer = await request({ t: 'run', ref: '@labrig/platform-local:exec', project: 'e2e', projectRoot: 'configs/platforms/e2e', argv: ['--cmd=true', '--config=configs/platforms/e2e/platform.toml'], env: {}, cwd: root }, 'f'.repeat(64));
    expect(answer).toEqual([expect.objectContaining({ t: 'refuse', code: 'token' })]);
    expect(journal().filter((e) => e['event'] === 'command-start').length).toBe(starts);
  });

  it('stops only the command whose client got Ctrl-C (native and Node clients)', async () => {
    const runsBefore = runDirs().length;
    // A through the native client, B through the Node client.
    const start = (tag: string) =>
      spawn(tag === 'A' ? labrigRunNative : process.execPath, [...(tag === 'A' ? [] : [labrigRun]), '@labrig/platform-local:exec', 'e2e', 'configs/platforms/e2e', '--config=configs/platforms/e2e/platform.toml', `--cmd=sleep 4; echo ${tag}`, '--output=plain'], {
        cwd: root,
        env: { ...process.env, LABRIG_AGENT: 'on', LABRIG_AGENT_DEBUG: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const done = (p: ReturnType<typeof start>) =>
      new Promise<Ran>((resolve) => {
        let out = '';
        p.stdout!.on('data', (d) => (out += String(d)));
        p.stderr!.on('data', (d) => (out += String(d)));
        p.on('close', (code) => resolve({ code: code ?? -1, out }));
      });
    const a = start('A');
    const b = start('B');
    const [ra, rb] = [done(a), done(b)];
    await waitFor('both runs to start on every host', () => {
      const dirs = runDirs().slice(runsBefore);
      return dirs.length === 2 && dirs.every((d) => runEvents(d).filter((e) => e['type'] === 'attempt-start').length === HOSTS);
    });
    a.kill('SIGINT');
    const [x, y] = await Promise.all([ra, rb]);
    expect(x.code, x.out).toBe(130);
    expect(x.out).toMatch(/SIGINT: stopping/);
    expect(y.code, y.out).toBe(0);
    expect(y.out).toContain(`${HOSTS} ok`);
    for (const h of state.hosts) expect(y.out).toContain(`[${h.name}] B`);
    const aborted = runDirs()
      .slice(runsBefore)
      .map((d) => runEvents(d))
      .find((ev) => String(ev[0]!['title']).includes('echo A'))!;
    expect(aborted.filter((e) => e['type'] === 'host-end').every((e) => e['status'] === 'aborted')).toBe(true);
  });

  it('keeps no secret of a command after it ended (heap and files)', async () => {
    const canary = `labrig-canary-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    // A new agent: the canary's command is the one that opens every connection the agent then keeps.
    process.kill(agentPid(), 'SIGTERM');
    await waitFor('the agent to exit', () => !existsSync(paths().pid));
    // During the command the agent holds the canary (its environment): the heap check sees it.
    const starts = () => journal().filter((e) => e['event'] === 'command-start').length;
    const before = starts();
    const during = exec('sleep 2', [], { LABRIG_TEST_CANARY: canary });
    await waitFor('the command to start', () => starts() > before);
    const snapDuring = (await request({ t: 'heap-snapshot' }))[1]!['file'] as string;
    expect((await during).code).toBe(0);
    expect(readFileSync(snapDuring, 'latin1').includes(canary)).toBe(true);
    rmSync(snapDuring);
    const snapAfter = (await request({ t: 'heap-snapshot' }))[1]!['file'] as string;
    const heap = readFileSync(snapAfter, 'latin1');
    rmSync(snapAfter);
    expect(heap.length).toBeGreaterThan(1_000_000);
    expect(heap.includes(canary)).toBe(false);
    for (const f of readdirSync(paths().dir)) {
      if (f.endsWith('.sock')) continue;
      expect(readFileSync(join(paths().dir, f), 'latin1').includes(canary), f).toBe(false);
    }
  });
});
