/**
 * The system targets as Nx runs them: `labrig-run <executor> <project> <root> --platform=<name>`
 * processes, on real sshd hosts of the local platform (127.0.35.x:2335, no S3: files go over SSH).
 * Covers what the in-process specs do not: the command line itself (options parsed against the
 * schema, exit statuses), and the exec, logs and teardown targets.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down } from '@labrig/testbed';

const workspace = join(import.meta.dirname, '../../../..');
const bin = join(workspace, 'packages/runner/bin/labrig-run.mjs');
let root: string;
let tbDir: string;

interface Result {
  exitCode: number;
  out: string;
}
async function labrigRun(executor: string, project: string, projectRoot: string, ...args: string[]): Promise<Result> {
  const r = await execa(process.execPath, [bin, executor, project, projectRoot, ...args], { cwd: root, all: true, reject: false, env: { NO_COLOR: '1' } });
  return { exitCode: r.exitCode ?? -1, out: r.all ?? '' };
}
const svc = (executor: string, ...args: string[]) => labrigRun(`@labrig/system-generic:${executor}`, 'svc', 'targets/svc', '--platform=e2e', '--output=plain', ...args);
async function ok(r: Promise<Result>): Promise<string> {
  const res = await r;
  if (res.exitCode !== 0) throw new Error(`labrig-run exited ${res.exitCode}:\n${res.out.slice(-4000)}`);
  return res.out;
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const homes = () => (JSON.parse(readFileSync(join(tbDir, 'state.json'), 'utf8')) as { hosts: { name: string; home: string }[] }).hosts;

beforeAll(async () => {
  mkdirSync(join(workspace, 'tmp'), { recursive: true });
  root = mkdtempSync(join(workspace, 'tmp', 'run-generic-')); // inside the workspace: packages resolve from its node_modules
  tbDir = mkdtempSync(join(tmpdir(), 'labrig-run-tb-'));
  chmodSync(tbDir, 0o755);
  writeFileSync(join(root, 'nx.json'), '{}\n');
  mkdirSync(join(root, 'configs/platforms/e2e'), { recursive: true });
  writeFileSync(
    join(root, 'configs/platforms/e2e/platform.toml'),
    ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 2', `dir = ${JSON.stringify(tbDir)}`, 'addressBase = "127.0.35.0"', 'port = 2335', '[run]', 'timeout = "1m"'].join('\n'),
  );
  mkdirSync(join(root, 'targets/svc/src'), { recursive: true });
  writeFileSync(join(root, 'targets/svc/src/svc.sh'), '#!/bin/sh\necho "svc up as $(id -un)"\nexec sleep 600\n');
  writeFileSync(
    join(root, 'targets/svc/system.toml'),
    [
      'system = "@labrig/system-generic"',
      'sources = ["src/*"]',
      '[build]',
      'command = ["sh", "-c", "mkdir -p \\"$0\\" && cp src/svc.sh \\"$0/svc.sh\\"", "{out}"]',
      'outputs = ["svc.sh"]',
      '[[artifacts]]',
      'name = "svc"',
      'path = "svc.sh"',
      '[deploy]',
      'distribution = "ssh"',
      '[roles.main]',
      'hosts = { indexes = [0, 1] }',
      'start = ["sh", "{dir}/svc.sh"]',
      'ready = { log = "svc up", timeout = "10s" }',
    ].join('\n'),
  );
}, 60_000);

afterAll(async () => {
  if (tbDir && existsSync(join(tbDir, 'state.json'))) await down(tbDir);
  if (root) rmSync(root, { recursive: true, force: true });
  if (tbDir) rmSync(tbDir, { recursive: true, force: true });
});

describe('system targets through labrig-run', { timeout: 120_000 }, () => {
  it('up, build, push, setup and deploy exit 0; an unknown or invalid option exits 2 naming it', async () => {
    await ok(labrigRun('@labrig/platform-local:up', 'e2e', 'configs/platforms/e2e', '--config=configs/platforms/e2e/platform.toml'));
    await ok(labrigRun('@labrig/system-generic:build', 'svc', 'targets/svc'));
    expect(await ok(svc('push'))).toContain('deploy copies it over SSH');
    await ok(svc('setup'));
    await ok(svc('deploy'));

    const unknown = await svc('deploy', '--dryrun');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.out).toContain('option --dryrun');
    expect(unknown.out).toContain('--dry-run');
    const bad = await svc('deploy', '--output=fancy');
    expect(bad.exitCode).toBe(2);
    expect(bad.out).toContain('option --output: got "fancy", expected one of auto | tty | plain | json');
  });

  it('exec runs --cmd on every host of the system (or of --roles) and prints each output', async () => {
    const out = await ok(svc('exec', '--cmd', 'echo "user=$(id -un)"'));
    const users = homes().map((h) => h.name);
    expect(users).toHaveLength(2);
    for (const name of users) expect(out).toMatch(new RegExp(`${name}[^\\n]*\\n?[^\\n]*user=`));
    expect(out.match(/user=[a-z_][a-z0-9_-]*\s*$/gm)?.length).toBe(2); // not the step title's `user=$(id -un)`

    const noCmd = await svc('exec');
    expect(noCmd.exitCode).toBe(2);
    expect(noCmd.out).toContain('option --cmd');
    const badRole = await svc('exec', '--cmd=true', '--roles=nope');
    expect(badRole.exitCode).toBe(1);
    expect(badRole.out).toContain('roles of svc: main');
  });

  it('logs prints the end of each process log', async () => {
    const out = await ok(svc('logs', '--lines=5'));
    expect(out.match(/svc up as \S+/g)?.length).toBe(2);
  });

  it('teardown stops every process, then the platform releases the testbed', async () => {
    const pids = homes().map((h) => Number(readFileSync(join(h.home, '.labrig/procs/svc-main/pid'), 'utf8').trim()));
    expect(pids.every(alive)).toBe(true);
    const out = await ok(svc('teardown'));
    expect(out).toContain('e2e: released');
    expect(pids.some(alive)).toBe(false);
    expect(existsSync(join(tbDir, 'state.json'))).toBe(false);
  });
});
