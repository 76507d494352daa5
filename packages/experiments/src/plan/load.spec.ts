import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@labrig/core';
import { crossProduct } from './expand.js';
import { loadPlan } from './load.js';

let root: string;

const SAMPLE = `
system = "kv"
platform = "lab"
task = "bench"
repeats = 2
duration = "2s"

[settings]
clients = 8
value_size = 128
mode = "get"

[[experiments]]
name = "scaling"
[experiments.sweep]
clients = [1, 4]
value_size = [64, 1024]

[[experiments]]
name = "mixes"
repeats = 1
points = [{ mode = "set", clients = 4 }, { mode = "get", clients = 1, value_size = 64 }]
`;

function write(name: string, text: string): string {
  writeFileSync(join(root, 'configs/experiments', `${name}.toml`), text);
  return name;
}

function configError(text: string): ConfigError {
  try {
    loadPlan(root, write('bad', text));
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('the plan loaded');
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'labrig-plan-'));
  for (const d of ['targets/kv', 'targets/web', 'configs/platforms/lab', 'configs/experiments']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'targets/kv/system.toml'), 'system = "@labrig/system-generic"\n');
  writeFileSync(join(root, 'targets/web/system.toml'), 'system = "@labrig/system-generic"\n');
  writeFileSync(join(root, 'configs/platforms/lab/platform.toml'), 'platform = "@labrig/platform-local"\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('loadPlan: expansion and run ids', () => {
  it('expands sweeps to their cross product and points as listed, times the repeats (golden ids)', () => {
    const plan = loadPlan(root, write('sample', SAMPLE));
    const lines = plan.runs.map((r) => `${r.id} ${r.experiments.join(',')} ${JSON.stringify(r.params)}`);
    const golden = readFileSync(join(import.meta.dirname, '__golden__/sample-plan.ids.txt'), 'utf8').trimEnd().split('\n');
    expect(lines).toEqual(golden);
    // 2 x 2 points x 2 repeats, and 2 points x 1 repeat; the point (clients=1, value_size=64, get)
    // of "mixes" is the same run as scaling's: it runs once and belongs to both.
    expect(plan.runs).toHaveLength(9);
    expect(plan.runs.find((r) => r.experiments.length === 2)?.params).toEqual({ clients: 1, value_size: 64, mode: 'get', duration: '2s', duration_s: 2 });
    expect(plan.paramNames).toEqual(['clients', 'duration', 'duration_s', 'mode', 'value_size']);
  });

  it('keeps every id when the file is renamed or its keys, lists and experiments are reordered', () => {
    const a = loadPlan(root, write('sample', SAMPLE));
    const reordered = `
task = "bench"
platform = "lab"
system = "kv"
duration = "2s"
repeats = 2
[settings]
mode = "get"
value_size = 128
clients = 8
[[experiments]]
name = "mixes-renamed"
repeats = 1
points = [{ value_size = 64, clients = 1, mode = "get" }, { clients = 4, mode = "set" }]
[[experiments]]
name = "scaling-renamed"
[experiments.sweep]
value_size = [1024, 64]
clients = [4, 1]
`;
    const b = loadPlan(root, write('other-name', reordered));
    expect(b.runs.map((r) => r.id).sort()).toEqual(a.runs.map((r) => r.id).sort());
  });

  it('changes the ids of exactly the runs whose parameters changed', () => {
    const a = loadPlan(root, write('sample', SAMPLE));
    const b = loadPlan(root, write('changed', SAMPLE.replace('value_size = [64, 1024]', 'value_size = [64, 2048]')));
    const idsA = new Set(a.runs.map((r) => r.id));
    const changed = b.runs.filter((r) => !idsA.has(r.id));
    expect(changed.map((r) => r.params['value_size'])).toEqual([2048, 2048, 2048, 2048]);
    const c = loadPlan(root, write('longer', SAMPLE.replace('duration = "2s"', 'duration = "3s"')));
    expect(c.runs.some((r) => idsA.has(r.id))).toBe(false); // duration is a parameter of every run
  });

  it('a plan without [[experiments]] is one experiment named main; no sweep is one point', () => {
    const plan = loadPlan(root, write('single', 'system = "kv"\nplatform = "lab"\ntask = "bench"\nrepeats = 3\n[settings]\nx = 1\n'));
    expect(plan.experiments.map((e) => e.name)).toEqual(['main']);
    expect(plan.runs.map((r) => r.repeat)).toEqual([1, 2, 3]);
    expect(new Set(plan.runs.map((r) => r.point)).size).toBe(1);
  });

  it('crossProduct: key order then list order', () => {
    expect(crossProduct({ a: [1, 2], b: ['x', 'y'] })).toEqual([
      { a: 1, b: 'x' },
      { a: 1, b: 'y' },
      { a: 2, b: 'x' },
      { a: 2, b: 'y' },
    ]);
  });
});

describe('loadPlan: bad plans fail before anything runs, naming file, field and fix', () => {
  const base = 'platform = "lab"\ntask = "bench"\n[settings]\nclients = 1\n';

  it('an unknown system', () => {
    const e = configError(`system = "kvv"\n${base}`);
    expect(e.message).toContain('configs/experiments/bad.toml');
    expect(e.message).toContain('system');
    expect(e.message).toContain('unknown system "kvv"');
    expect(e.hint).toContain('kv, web');
  });

  it('an unknown platform', () => {
    const e = configError('system = "kv"\nplatform = "cloud"\ntask = "bench"\n');
    expect(e.message).toContain('unknown platform "cloud"');
    expect(e.hint).toContain('lab');
  });

  it('a sweep over a field that is not a setting', () => {
    const e = configError(`system = "kv"\n${base}[sweep]\nclientz = [1, 2]\n`);
    expect(e.message).toContain('sweep.clientz');
    expect(e.message).toContain('not a setting');
    expect(e.hint).toContain('clients');
    const p = configError(`system = "kv"\npoints = [{ clients = 2, threads = 4 }]\n${base}`);
    expect(p.message).toContain('points[0].threads');
  });

  it('an empty list in a sweep', () => {
    const e = configError(`system = "kv"\n${base}[sweep]\nclients = []\n`);
    expect(e.message).toContain('sweep.clients');
    expect(e.message).toMatch(/at least 1|fewer than 1|empty/i);
  });

  it('a plot over an unknown parameter or metric, and a missing plan file', () => {
    const plot = `system = "kv"\n${base}[metrics.fields]\ntput = { path = "t" }\n[[results]]\nkind = "line"\nname = "t"\nx = "clients"\ny = "throughput"\n`;
    const e = configError(plot);
    expect(e.message).toContain('results[0].y');
    expect(e.hint).toContain('tput');
    const x = configError(plot.replace('x = "clients"', 'x = "threads"').replace('y = "throughput"', 'y = "tput"'));
    expect(x.message).toContain('results[0].x');
    expect(() => loadPlan(root, 'nope')).toThrow(/configs\/experiments\/nope\.toml.*file not found/);
  });

  it('counts below 1 and durations of zero: repeats (plan and experiment), duration, timeout', () => {
    for (const [text, field, problem] of [
      [`system = "kv"\nrepeats = 0\n${base}`, 'repeats', 'expected an integer >= 1, got the integer 0'],
      [`system = "kv"\nrepeats = -3\n${base}`, 'repeats', 'expected an integer >= 1, got the integer -3'],
      [`system = "kv"\nrepeats = 1.5\n${base}`, 'repeats', 'expected an integer, got the number 1.5'],
      [`system = "kv"\n${base}[[experiments]]\nname = "a"\nrepeats = 0\n`, 'experiments[0].repeats', 'expected an integer >= 1, got the integer 0'],
      [`system = "kv"\nduration = "0s"\n${base}`, 'duration', 'expected a duration above zero (a whole number and ms, s, m or h, e.g. 500ms, 30s, 5m, 1h), got the string "0s"'],
      [`system = "kv"\ntimeout = "0m"\n${base}`, 'timeout', 'expected a duration above zero (a whole number and ms, s, m or h, e.g. 500ms, 30s, 5m, 1h), got the string "0m"'],
      [`system = "kv"\ntimeout = "10 minutes"\n${base}`, 'timeout', 'expected a duration above zero (a whole number and ms, s, m or h, e.g. 500ms, 30s, 5m, 1h), got the string "10 minutes"'],
    ] as const) {
      const e = configError(text);
      expect(e.file).toBe('configs/experiments/bad.toml');
      expect(e.field).toBe(field);
      expect(e.problem).toContain(problem);
      expect(e.hint).toContain(field);
    }
  });

  it('a value listed twice in a sweep (it would silently run once)', () => {
    const e = configError(`system = "kv"\n${base}[sweep]\nclients = [1, 4, 4]\n`);
    expect(e.field).toBe('sweep.clients[2]');
    expect(e.problem).toContain('duplicate of sweep.clients[1]');
  });
});
