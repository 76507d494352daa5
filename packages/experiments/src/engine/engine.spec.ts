import { describe, expect, it } from 'vitest';
import { OptionError, type Host } from '@labrig/core';
import type { Plan } from '../plan/load.js';
import { expandRuns } from '../plan/expand.js';
import { combine, parseMetricsText } from '../metrics.js';
import { parseSums } from '../remote/collect.js';
import { matchesFilter, parseFilter } from './filter.js';
import { ProgressState } from './progress.js';
import { hostSets } from './run-plan.js';

const host = (name: string): Host => ({ name, address: '127.0.0.1', port: 22, user: 'u', roles: [], labels: {} });
const experiments = [{ name: 'scaling', task: 'bench', repeats: 2, settings: { clients: 1, size: 64 }, sweep: { clients: [1, 4] } }];
const plan = { experiments, paramNames: ['clients', 'size'], runs: expandRuns('kv', experiments) } as unknown as Plan;

describe('--only', () => {
  it('matches parameters, experiments and id prefixes, all terms together', () => {
    const pick = (text: string) => plan.runs.filter((r) => matchesFilter(parseFilter(text, plan), r)).map((r) => `${r.params['clients']}/${r.repeat}`);
    expect(pick('clients=4')).toEqual(['4/1', '4/2']);
    expect(pick('scaling')).toHaveLength(4);
    const id = plan.runs[3]!.id;
    expect(pick(id)).toEqual(['4/2']);
    expect(pick(`${id.slice(0, 6)},clients=4`)).toEqual(['4/1', '4/2']);
    expect(() => parseFilter('threads=2', plan)).toThrow(OptionError);
    expect(() => parseFilter('nonsense', plan)).toThrow(/--only.*experiment names \(scaling\)/);
  });
});

describe('host sets for --parallel-runs', () => {
  it('splits the hosts into contiguous sets of near-equal size; refuses more sets than hosts', () => {
    const hs = ['a', 'b', 'c', 'd', 'e'].map(host);
    expect(hostSets(hs, 2).map((s) => s.map((h) => h.name).join(''))).toEqual(['abc', 'de']);
    expect(hostSets(hs, 1)).toHaveLength(1);
    expect(() => hostSets(hs, 6)).toThrow(/at most 5/);
    expect(() => hostSets(hs, 0)).toThrow(OptionError);
  });
});

describe('progress', () => {
  it('counts and an ETA from the mean run time, remaining runs and host sets', () => {
    const p = new ProgressState(10, 2, 2);
    expect(p.etaMs()).toBeUndefined();
    p.record('done', 1000);
    p.record('failed', 3000);
    // 10 - 3 done - 1 failed = 6 left, mean 2000 ms, 2 sets -> 6000 ms
    expect(p.etaMs()).toBe(6000);
    expect(p.headline()).toBe('runs 3/10 done, 1 failed, ETA 6.0 s');
    expect(p.runsLeft()).toBe(6);
    expect(p.headline('CloudLab experiment p/x expires in 3 h')).toBe('runs 3/10 done, 1 failed, ETA 6.0 s; CloudLab experiment p/x expires in 3 h');
  });

  it('plain lines carry the note (the machines\' expiry) as it is when each run ends', async () => {
    const { createProgress } = await import('./progress.js');
    const lines: string[] = [];
    let note: string | undefined;
    const p = createProgress({ mode: 'plain', total: 2, doneBefore: 0, log: (l) => lines.push(l), note: () => note });
    const run = { id: 'a-r1', point: 'a', experiments: ['main'], repeat: 1, task: 't', params: { n: 1 } };
    p.runEnd(0, run, 'done', 1000);
    note = 'CloudLab experiment p/x expires in 45 min';
    p.runEnd(0, { ...run, id: 'b-r1' }, 'done', 1000);
    expect(lines[0]).toMatch(/ETA 1\.0 s$/);
    expect(lines[1]).toMatch(/; CloudLab experiment p\/x expires in 45 min$/);
    expect(p.left()).toEqual({ ms: 0, runs: 0 });
  });
});

describe('metrics and sums', () => {
  it('reads a JSON object (a [host] prefix ignored) or the last JSON line; combines hosts', () => {
    expect(parseMetricsText('[tb-2] {"a": {"b": 3}}\n', 'json')).toEqual({ a: { b: 3 } });
    expect(parseMetricsText('{"x":1}\n{"x":2}\n', 'jsonl')).toEqual({ x: 2 });
    expect(() => parseMetricsText('not json', 'json')).toThrow();
    expect(combine([1, 2, 3], 'sum')).toBe(6);
    expect(combine([0.1, 0.2], 'mean')).toBe(0.15);
    expect(combine([1, 5, 3], 'max')).toBe(5);
    expect(combine([4, 2], 'min')).toBe(2);
  });

  it('parses sha256sum lines and MISSING markers', () => {
    const a = 'a'.repeat(64);
    const s = parseSums(`${a}  stdout\n${'b'.repeat(64)} *odd name.bin\nMISSING *.json\n`);
    expect([...s.files.entries()]).toEqual([
      ['stdout', a],
      ['odd name.bin', 'b'.repeat(64)],
    ]);
    expect(s.missing).toEqual(['*.json']);
  });
});
