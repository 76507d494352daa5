/**
 * The canary: a random secret (unique per run, with characters JSON and the shell escape) is
 * given to a system through `[env] CANARY_TOKEN = { secret = "CANARY_TOKEN" }` and printed in
 * every way a command can print it, through the real `nx` CLI: plain, inside JSON, split across
 * output chunks, on stderr, in a failing command's error, with `--output=json|plain`, with
 * `--dry-run`, by a task of the system file, by the build command (a local child process, Nx-cached),
 * by a deployed process (its log read back by `logs`). Then the secret must be nowhere labrig or
 * Nx wrote: nx's stdout/stderr, the workspace (Nx's cache and data folders with the terminal
 * outputs, .labrig/, dist/, results/, node_modules/.cache/), ~/.nx, and files under the temp
 * folder written during the test (except the testbed's folder: the hosts' own disks, where the
 * secret is meant to go). And the redaction marker `***` must appear where the secret was, so a
 * command that printed nothing cannot pass.
 *
 * Real sshd hosts on 127.0.132.x:2450.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down } from '@labrig/testbed';
import { createE2eWorkspace, localPlatformFile, stopAgent, testbedDir, type CommandResult, type E2eWorkspace } from './workspace.js';

// Unique per run; `"`, `\` and `'` are escaped by JSON and by the shell quoting.
const CORE = `cnry-${randomBytes(6).toString('hex')}`;
const SECRET = `${CORE}-"q\\b'${Date.now().toString(36)}`;
/**
 * What must never appear: the secret as is, inside a JSON string, inside '…' for sh, and its random
 * start alone (any part of it, however transformed: `echo` would turn its `\b` into a backspace).
 * The commands below print it with printf '%s', which prints it byte for byte.
 */
const FORMS = [SECRET, JSON.stringify(SECRET).slice(1, -1), SECRET.replace(/'/g, `'\\''`), CORE];
const MARK = '***';
const SYSTEM = 'canary';
const PLATFORM = 'cn';

let ws: E2eWorkspace;
let tbDir: string;
let started: number;
const outputs: { what: string; r: CommandResult }[] = [];

function leaks(text: string): string[] {
  return FORMS.filter((f) => text.includes(f));
}

/** `nx run canary:<target> -c cn ...`, kept for the final checks; fails on leaks right away. */
async function nx(what: string, args: string[]): Promise<CommandResult> {
  const r = await ws.nx(args);
  outputs.push({ what, r });
  expect(leaks(r.all), `${what}: the secret is in nx's output:\n${r.all}`).toEqual([]);
  return r;
}
const run = (what: string, target: string, ...opts: string[]) => nx(what, ['run', `${SYSTEM}:${target}`, '-c', PLATFORM, ...opts]);
const exec = (what: string, cmd: string, ...opts: string[]) => run(what, 'exec', `--cmd=${cmd}`, ...opts);

function expectOk(r: CommandResult, what: string): void {
  expect(r.exitCode, `${what} failed:\n${r.all}`).toBe(0);
}

/** Files under `dir` (symlinks not followed) whose modification time is at least `since`. */
function* filesUnder(dir: string, since = 0, skip: (p: string) => boolean = () => false): Generator<string> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (skip(p)) continue;
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) yield* filesUnder(p, since, skip);
    else if (st.isFile() && st.mtimeMs >= since && st.size < 200 * 1024 * 1024) yield p;
  }
}

function fileLeaks(files: Iterable<string>): string[] {
  const needles = FORMS.map((f) => Buffer.from(f));
  const found: string[] = [];
  for (const f of files) {
    let buf: Buffer;
    try {
      buf = readFileSync(f);
    } catch {
      continue; // removed meanwhile, or not readable: not ours
    }
    if (needles.some((n) => buf.includes(n))) found.push(f);
  }
  return found;
}

beforeAll(async () => {
  started = Date.now() - 1000;
  // The nx CLI (and so labrig) gets the secret in its environment, as a user's shell would give it.
  process.env['CANARY_TOKEN'] = SECRET;
  ws = createE2eWorkspace('e2e-canary-');
  delete process.env['CANARY_TOKEN'];
  tbDir = testbedDir('canary');
  ws.write('configs/platforms/cn/platform.toml', localPlatformFile({ dir: tbDir, hosts: 2, addressBase: '127.0.132.0', port: 2450, extra: ['[run]', 'timeout = "1m"'] }));
  ws.write('targets/canary/src/svc.sh', '#!/bin/sh\nprintf \'svc up with %s\\n\' "$CANARY_TOKEN"\nexec sleep 600\n');
  ws.write(
    'targets/canary/system.toml',
    [
      'system = "@labrig/system-generic"',
      'sources = ["src/*"]',
      '[env]',
      'CANARY_TOKEN = { secret = "CANARY_TOKEN" }',
      '[build]',
      // The build command inherits labrig's environment: it prints the secret too.
      'command = ["sh", "-c", "printf \\"build sees %s\\\\n\\" \\"$CANARY_TOKEN\\"; mkdir -p \\"$0\\" && cp src/svc.sh \\"$0/svc.sh\\"", "{out}"]',
      'outputs = ["svc.sh"]',
      '[[artifacts]]',
      'name = "svc"',
      'path = "svc.sh"',
      '[deploy]',
      'distribution = "ssh"',
      '[roles.main]',
      'hosts = { indexes = [0, 1] }',
      'start = ["sh", "{dir}/svc.sh"]',
      'ready = { log = "svc up", timeout = "15s" }',
      '[tasks.show]',
      'role = "main"',
      'description = "print the token"',
      'command = ["sh", "-c", "printf \\"task sees %s\\\\n\\" \\"$CANARY_TOKEN\\""]',
      '',
    ].join('\n'),
  );
  const up = await ws.nx(['run', `${PLATFORM}:up`]);
  if (up.exitCode !== 0) throw new Error(`nx run ${PLATFORM}:up failed:\n${up.all}`);
}, 300_000);

afterAll(async () => {
  stopAgent(ws?.dir);
  if (ws) await ws.nx(['run', `${SYSTEM}:stop`, '-c', PLATFORM]).catch(() => undefined);
  if (tbDir && existsSync(join(tbDir, 'state.json'))) await down(tbDir);
  if (tbDir) rmSync(tbDir, { recursive: true, force: true });
  if (ws && !process.env['KEEP']) ws.remove();
}, 120_000);

describe('a secret printed by commands never leaves labrig in clear', { timeout: 180_000 }, () => {
  it('is redacted from what exec prints: plain, JSON, split, stderr, a failure, each output mode, a dry run', async () => {
    const plain = await exec('plain', 'env | grep CANARY');
    expectOk(plain, 'plain');
    expect(plain.all).toMatch(/\[tb-\d\] CANARY_TOKEN=\*\*\*/);

    const json = await exec('json', `printf '{"t":"%s"}\\n' "$CANARY_TOKEN"`, '--output=json');
    expectOk(json, 'json');
    expect(json.all).toContain(`{"t":"${MARK}"}`);

    // First half, a pause (two chunks on the wire), then the second half.
    const split = await exec('split', 's="$CANARY_TOKEN"; h=$((${#s} / 2)); printf "%s" "$s" | cut -c1-$h | tr -d "\\n"; sleep 0.3; printf "%s" "$s" | cut -c$((h + 1))-', '--output=plain');
    expectOk(split, 'split');
    expect(split.all).toMatch(/\[tb-\d\] \*\*\*/);

    const stderr = await exec('stderr', 'printf "on stderr: %s\\n" "$CANARY_TOKEN" >&2; echo done', '--output=plain');
    expectOk(stderr, 'stderr');

    const failing = await exec('failing', 'printf "about to fail: %s\\n" "$CANARY_TOKEN"; printf "failing with %s\\n" "$CANARY_TOKEN" >&2; exit 3', '--output=plain');
    expect(failing.exitCode).not.toBe(0);
    expect(failing.all).toContain(`failing with ${MARK}`);

    const failingJson = await exec('failing json', 'printf "failing with %s\\n" "$CANARY_TOKEN" >&2; exit 3', '--output=json');
    expect(failingJson.exitCode).not.toBe(0);
    expect(failingJson.all).toContain(MARK);

    const dry = await exec('dry run', 'printf "%s\\n" "$CANARY_TOKEN"', '--dry-run');
    expectOk(dry, 'dry run');
    expect(dry.all).toContain('dry run');
  });

  it('is redacted from a task, the build (a local child process, cached by Nx), a deployed process and its logs', async () => {
    const task = await run('task', 'show', '--output=plain');
    expectOk(task, 'task');
    expect(task.all).toContain(`task sees ${MARK}`);

    const deploy = await run('deploy', 'deploy', '--output=plain');
    expectOk(deploy, 'deploy');
    expect(deploy.all).toContain(`build sees ${MARK}`); // the build ran as a dependency

    const logs = await run('logs', 'logs');
    expectOk(logs, 'logs');
    expect(logs.all).toContain(`svc up with ${MARK}`);

    // Again: the build comes from Nx's cache, its terminal output replayed from there.
    const again = await nx('build from cache', ['run', `${SYSTEM}:build`]);
    expectOk(again, 'build from cache');
    expect(again.all).toContain(`build sees ${MARK}`);
    const terminalOutputs = [...filesUnder(join(ws.dir, '.nx'))].filter((f) => f.includes('terminalOutput'));
    expect(terminalOutputs.length, 'Nx kept no terminal output').toBeGreaterThan(0);
    expect(terminalOutputs.some((f) => readFileSync(f, 'utf8').includes(`build sees ${MARK}`))).toBe(true);
  });

  it('is redacted the same when the commands run in the labrig agent, and the agent keeps none of it', async () => {
    const agent = { LABRIG_AGENT: 'on' };
    const viaAgent = async (what: string, args: string[]): Promise<CommandResult> => {
      const r = await ws.nx(args, agent);
      outputs.push({ what: `${what} (agent)`, r });
      expect(leaks(r.all), `${what} (agent): the secret is in nx's output:\n${r.all}`).toEqual([]);
      return r;
    };
    const plain = await viaAgent('plain', ['run', `${SYSTEM}:exec`, '-c', PLATFORM, '--cmd=env | grep CANARY', '--output=plain']);
    expectOk(plain, 'plain (agent)');
    expect(plain.all).toMatch(/\[tb-\d\] CANARY_TOKEN=\*\*\*/);
    const split = await viaAgent('split', ['run', `${SYSTEM}:exec`, '-c', PLATFORM, '--cmd=s="$CANARY_TOKEN"; h=$((${#s} / 2)); printf "%s" "$s" | cut -c1-$h | tr -d "\\n"; sleep 0.3; printf "%s" "$s" | cut -c$((h + 1))-', '--output=plain']);
    expectOk(split, 'split (agent)');
    expect(split.all).toMatch(/\[tb-\d\] \*\*\*/);
    const failing = await viaAgent('failing', ['run', `${SYSTEM}:exec`, '-c', PLATFORM, '--cmd=printf "failing with %s\\n" "$CANARY_TOKEN" >&2; exit 3', '--output=json']);
    expect(failing.exitCode).not.toBe(0);
    expect(failing.all).toContain(MARK);
    const task = await viaAgent('task', ['run', `${SYSTEM}:show`, '-c', PLATFORM, '--output=plain']);
    expectOk(task, 'task (agent)');
    expect(task.all).toContain(`task sees ${MARK}`);
    // They ran in the agent (its journal), which never had the secret in its own environment.
    const journal = readFileSync(join(ws.dir, '.labrig/agent/agent.jsonl'), 'utf8');
    expect(journal.match(/"event":"command-end"/g)?.length ?? 0).toBeGreaterThanOrEqual(4);
    const pid = (JSON.parse(readFileSync(join(ws.dir, '.labrig/agent/agent.pid'), 'utf8')) as { pid: number }).pid;
    expect(leaks(readFileSync(`/proc/${pid}/environ`, 'latin1'))).toEqual([]);
  });

  it('is nowhere on disk: the workspace (Nx cache and data, .labrig, dist, results, node_modules/.cache), ~/.nx, temp files', () => {
    expect(outputs.length).toBeGreaterThan(5);
    for (const { what, r } of outputs) expect(leaks(r.all), what).toEqual([]);
    // The workspace's own files; node_modules holds links to the repository's packages, except .cache.
    const wsFiles = [
      ...filesUnder(ws.dir, 0, (p) => p === join(ws.dir, 'node_modules')),
      ...filesUnder(join(ws.dir, 'node_modules', '.cache')),
    ];
    expect(wsFiles.some((f) => f.includes(`${join('.nx', 'cache')}`))).toBe(true);
    expect(wsFiles.some((f) => relative(ws.dir, f).startsWith('.labrig'))).toBe(true);
    expect(wsFiles.some((f) => relative(ws.dir, f).startsWith(join('node_modules', '.cache')))).toBe(true);
    expect(fileLeaks(wsFiles)).toEqual([]);
    // The step logs hold the marker where the secret was (stderr of a command that succeeded too).
    const logs = wsFiles.filter((f) => relative(ws.dir, f).startsWith(join('.labrig', 'runs')) && f.endsWith('.log'));
    expect(logs.some((f) => readFileSync(f, 'utf8').includes(`on stderr: ${MARK}`))).toBe(true);
    expect(fileLeaks(filesUnder(join(homedir(), '.nx'), started))).toEqual([]);
    // Temp files written meanwhile, except the testbed's (the hosts' disks: the secret is for them).
    expect(fileLeaks(filesUnder(tmpdir(), started, (p) => p === tbDir || p.startsWith(`${tbDir}/`)))).toEqual([]);
  });
});
