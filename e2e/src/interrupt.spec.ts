/**
 * Stopping a command halfway: Ctrl-C (SIGINT) to `nx run <platform>:exec` and to `labrig-run`
 * while a long command runs on 4 real sshd hosts (127.0.134.x). What is left must be what a user
 * expects: the remote commands stopped (no orphan left running on any host), the run's journal
 * ending with every host `aborted` and the reason, and the command's exit status 130.
 */
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down } from '@labrig/testbed';
import { createE2eWorkspace, localPlatformFile, stopAgent, testbedDir, type E2eWorkspace } from './workspace.js';

let ws: E2eWorkspace;
let tbDir: string;
const MARK = `labrig-interrupt-${process.pid}`;

beforeAll(async () => {
  ws = createE2eWorkspace('e2e-interrupt-');
  tbDir = testbedDir('interrupt');
  ws.write('configs/platforms/it/platform.toml', localPlatformFile({ dir: tbDir, hosts: 4, addressBase: '127.0.134.0', port: 2470 }));
  const up = await ws.nx(['run', 'it:up']);
  if (up.exitCode !== 0) throw new Error(`nx run it:up failed:\n${up.all}`);
}, 300_000);

afterAll(async () => {
  stopAgent(ws?.dir);
  if (tbDir && existsSync(join(tbDir, 'state.json'))) await down(tbDir);
  if (tbDir) rmSync(tbDir, { recursive: true, force: true });
  if (ws && !process.env['KEEP']) ws.remove();
});

/** The testbed hosts' users (each host is a user of this machine, so its processes show in ps). */
const hostUsers = (): string[] => (JSON.parse(readFileSync(join(tbDir, 'state.json'), 'utf8')) as { hosts: { user: string }[] }).hosts.map((h) => h.user);

/** Processes of the hosts' users still running this spec's command (`sh -c 'sleep 60' MARK` and its sleep). */
async function remoteLeft(): Promise<string[]> {
  const users = new Set(hostUsers());
  const r = await execa('ps', ['-eo', 'user:32=,args='], { reject: false });
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([user, ...args]) => users.has(user!) && (args.join(' ').includes(MARK) || args.join(' ') === 'sleep 60'))
    .map((f) => f.join(' '));
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface JournalEvent {
  type: string;
  status?: string;
  stopped?: string;
}
const runsDir = () => join(ws.dir, '.labrig/runs');
const runs = () => (existsSync(runsDir()) ? readdirSync(runsDir()).filter((d) => d !== 'latest').sort() : []);
const journal = (id: string): JournalEvent[] =>
  readFileSync(join(runsDir(), id, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JournalEvent);

/** Start `cmd`, wait until the remote command runs on all 4 hosts, SIGINT it, and check what is left. */
async function interrupt(start: (cmd: string) => ResultPromise): Promise<{ exitCode: number | undefined; all: string; events: JournalEvent[] }> {
  const before = runs();
  const child = start(`sh -c 'sleep 60' ${MARK}`);
  await waitFor('the remote command on 4 hosts', async () => (await remoteLeft()).filter((l) => l.endsWith('sleep 60')).length === 4);
  child.kill('SIGINT');
  const r = await child;
  const id = runs().find((d) => !before.includes(d))!;
  expect(id, 'a run was journaled').toBeDefined();
  // The command may exit before its run has wound down (Nx does not wait for it): the journal ends soon after.
  await waitFor('the run-end event', () => journal(id).some((e) => e.type === 'run-end'), 15_000);
  await waitFor('no remote command left', async () => (await remoteLeft()).length === 0, 10_000);
  return { exitCode: r.exitCode, all: String(r.all ?? ''), events: journal(id) };
}

describe.each([
  ['in its own process', 'off'],
  ['in the labrig agent', 'on'],
])('Ctrl-C halfway through a command on 4 hosts, %s', (_how, agent) => {
  it('labrig-run: the remote commands are stopped, the journal ends with every host aborted, exit 130', async () => {
    const bin = join(ws.dir, 'node_modules/@labrig/runner/bin/labrig-run.mjs');
    const r = await interrupt((cmd) =>
      execa(process.execPath, [bin, '@labrig/platform-kit:exec', 'it', 'configs/platforms/it', '--platform=it', `--cmd=${cmd}`, '--output=plain'], { cwd: ws.dir, all: true, reject: false, env: { LABRIG_AGENT: agent } }),
    );
    expect(r.exitCode).toBe(130);
    const end = r.events.find((e) => e.type === 'run-end')!;
    expect(end.stopped).toBe('interrupted (SIGINT)');
    expect(r.events.filter((e) => e.type === 'host-end').map((e) => e.status)).toEqual(['aborted', 'aborted', 'aborted', 'aborted']);
    expect(r.all).toContain('4 aborted');
    expect(r.all).toContain('SIGINT: stopping');
  }, 60_000);

  it('nx run <platform>:exec: the same, whatever Nx does with its task process', async () => {
    const r = await interrupt((cmd) =>
      execa(process.execPath, [join(ws.dir, 'node_modules/nx/dist/bin/nx.js'), 'run', 'it:exec', `--cmd=${cmd}`, '--output=plain'], {
        cwd: ws.dir,
        all: true,
        reject: false,
        env: { LABRIG_AGENT: agent, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_CACHE_DIRECTORY: join(ws.dir, '.nx/cache'), NX_WORKSPACE_DATA_DIRECTORY: join(ws.dir, '.nx/data') },
      }),
    );
    expect(r.exitCode).not.toBe(0);
    expect(r.events.find((e) => e.type === 'run-end')!.stopped).toMatch(/^interrupted \(SIG(INT|TERM)\)$/);
    expect(r.events.filter((e) => e.type === 'host-end').map((e) => e.status)).toEqual(['aborted', 'aborted', 'aborted', 'aborted']);
  }, 60_000);
});
