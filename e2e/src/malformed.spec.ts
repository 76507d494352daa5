/**
 * One bad file breaks one thing, and never silently: every case of e2e/fixtures/malformed/
 * (cases.json: platform files of every platform, system files of every system plugin, experiment
 * plans) is put in a temporary workspace and the command a user would run on it goes through the
 * real `nx` CLI. Each must exit non-zero with exactly one error (one `✖` message) naming the file,
 * the field and a fix (`hint:`), no stack trace, and nothing run on any host (no new run folder).
 * With every malformed file present at once, a good project's commands still work.
 */
import { cpSync, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down } from '@labrig/testbed';
import { createE2eWorkspace, localPlatformFile, testbedDir, type CommandResult, type E2eWorkspace } from './workspace.js';

const repo = join(import.meta.dirname, '../..');
const fixtures = join(repo, 'e2e/fixtures/malformed');

interface Case {
  id: string;
  kind: 'platform' | 'system' | 'plan';
  of: string;
  fixture: string;
  path: string;
  command: string[];
  field: string | null;
  problem?: string;
  extraFiles?: Record<string, string>;
  note?: string;
}
const { cases } = JSON.parse(readFileSync(join(fixtures, 'cases.json'), 'utf8')) as { cases: Case[] };

// This spec's own addresses and port (see the e2e README of ranges): 127.0.130.x:2430.
const GOOD = 'good';
let ws: E2eWorkspace;
let tb: string;

/** The file of a case as it goes into the workspace. */
function contentOf(c: Case): Buffer {
  const raw = readFileSync(join(fixtures, c.fixture));
  if (c.note === 'generate: huge') {
    // Generated rather than committed: a valid-looking file far above the 4 MiB a config file may have.
    const line = `# ${'x'.repeat(1021)}\n`;
    return Buffer.concat([raw, Buffer.from(line.repeat(5 * 1024)), Buffer.from(localPlatformFile({ dir: tb, hosts: 4, addressBase: '127.0.130.0', port: 2430 }))]);
  }
  return Buffer.from(raw.toString('latin1').replaceAll('{testbed}', tb), 'latin1');
}

function place(c: Case): void {
  ws.write(c.path, contentOf(c));
  for (const [name, text] of Object.entries(c.extraFiles ?? {})) ws.write(join(dirname(c.path), name), text);
}

/** A case's files leave the workspace (its folder for platform and system files). */
function unplace(c: Case): void {
  rmSync(join(ws.dir, c.kind === 'plan' ? c.path : dirname(c.path)), { recursive: true, force: true });
}

const runsDir = () => join(ws.dir, '.labrig/runs');
const runFolders = (): string[] => (existsSync(runsDir()) ? readdirSync(runsDir()).filter((d) => d !== 'latest').sort() : []);

/** What a failure printed: the `✖` lines, the distinct ones, and whether a stack or a bundler error leaked. */
function errorsOf(r: CommandResult): { marks: string[]; distinct: string[]; hints: string[] } {
  const lines = r.all.split('\n');
  const marks = lines.filter((l) => l.trimStart().startsWith('✖'));
  return { marks, distinct: [...new Set(marks.map((l) => l.trim()))], hints: lines.filter((l) => /^\s*hint: /.test(l)) };
}

beforeAll(async () => {
  ws = createE2eWorkspace('malformed-');
  tb = testbedDir('malformed');
  cpSync(join(repo, 'targets/demo'), join(ws.dir, 'targets/demo'), { recursive: true });
  ws.write(`configs/platforms/${GOOD}/platform.toml`, localPlatformFile({ dir: tb, hosts: 4, addressBase: '127.0.130.0', port: 2430 }));
  const up = await ws.nx(['run', `${GOOD}:up`]);
  if (up.exitCode !== 0) throw new Error(`the good testbed did not start:\n${up.all.slice(-3000)}`);
}, 120_000);

afterAll(async () => {
  if (tb && existsSync(join(tb, 'state.json'))) await down(tb);
  if (tb) rmSync(tb, { recursive: true, force: true });
  ws?.remove();
});

describe('the corpus', () => {
  it('has at least 60 cases covering every platform, every system plugin and plans; each fixture exists once', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
    const of = new Set(cases.map((c) => `${c.kind}:${c.of}`));
    for (const p of ['local', 'cloudlab', 'aws', 'equinix', 'slurm-hpc']) expect(of).toContain(`platform:${p}`);
    for (const s of ['generic', 'sigmaos', 'vhive', 'cfiddle', 'daphne']) expect(of).toContain(`system:${s}`);
    expect(of).toContain('plan:experiments');
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    for (const c of cases) expect(existsSync(join(fixtures, c.fixture)), c.fixture).toBe(true);
  });
});

describe('each malformed file: one error naming file, field and fix; nothing runs', () => {
  for (const c of cases) {
    it(`${c.id}: nx ${c.command.join(' ')}`, async () => {
      place(c);
      const before = runFolders();
      try {
        const r = await ws.nx(c.command);
        const { distinct, hints } = errorsOf(r);
        const tail = `\n--- output ---\n${r.all.slice(-2500)}`;
        expect(r.exitCode, `exit status${tail}`).not.toBe(0);
        expect(distinct, `one error${tail}`).toHaveLength(1);
        const error = distinct[0]!;
        expect(error, `the file${tail}`).toContain(c.path);
        if (c.field !== null) expect(error, `the field${tail}`).toContain(`: ${c.field}: `);
        else expect(error, `line and column${tail}`).toMatch(new RegExp(`${c.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(:\\d+:\\d+)?: `));
        if (c.problem) expect(r.all, `the problem${tail}`).toContain(c.problem);
        expect(hints.length, `a fix (hint:)${tail}`).toBeGreaterThanOrEqual(1);
        expect(r.all, `no stack trace${tail}`).not.toMatch(/^\s{4}at .+[(:]\d+/m);
        expect(r.all, `no bundler error${tail}`).not.toContain('Could not resolve');
        expect(runFolders(), 'nothing ran on any host').toEqual(before);
      } finally {
        unplace(c);
      }
    }, 60_000);
  }
});

describe('one bad file breaks one thing', () => {
  it('a system file mistake read by the tasks deploy runs in parallel (build, setup) is the same one error from each, and nothing runs', async () => {
    const c = cases.find((x) => x.id === 'sys-unknown-key')!;
    place(c);
    const before = runFolders();
    try {
      const r = await ws.nx(['run', `${c.id}:deploy`, '-c', GOOD, '--dry-run']);
      expect(r.exitCode).not.toBe(0);
      const { marks, distinct } = errorsOf(r);
      expect(distinct, r.all.slice(-2500)).toHaveLength(1);
      expect(distinct[0]).toContain(`${c.path}: ${c.field}: `);
      // build and setup start together and both read the file; deploy and push never start.
      expect(marks.length, r.all.slice(-2500)).toBeLessThanOrEqual(2);
      expect(r.all).not.toMatch(/nx run [^\n]*:deploy:/);
      expect(runFolders()).toEqual(before);
    } finally {
      unplace(c);
    }
  }, 60_000);

  it('with every malformed file present at once, the good platform lists its hosts and runs a command on them', async () => {
    for (const c of cases) place(c);
    try {
      const hosts = await ws.nx(['run', `${GOOD}:hosts`]);
      expect(hosts.exitCode, hosts.all.slice(-3000)).toBe(0);
      expect(hosts.all).toMatch(/tb-3\s+127\.0\.130\.4\s+2430/);
      const exec = await ws.nx(['run', `${GOOD}:exec`, '--cmd=hostname', '--output=plain']);
      expect(exec.exitCode, exec.all.slice(-3000)).toBe(0);
      expect(exec.all).toContain('tb-0');
      expect(exec.all).not.toContain('✖');
    } finally {
      for (const c of cases) unplace(c);
    }
  }, 120_000);
});
