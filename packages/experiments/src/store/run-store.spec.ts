import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attemptFolders, createAttempt, foldEvents, openPlanJournal, planDir, readPlanEvents, sealCollection, writeOnce, type PlanEvent } from './run-store.js';

let root: string;
beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'labrig-store-'))));
afterEach(() => rmSync(root, { recursive: true, force: true }));

const t = '2026-11-30T00:00:00.000Z';

describe('foldEvents', () => {
  it('done, failed and in-flight runs from the journal; a later attempt supersedes a failure', () => {
    const events: PlanEvent[] = [
      { type: 'run-start', time: t, run: 'a', attempt: 1, hosts: ['h1'] },
      { type: 'run-executed', time: t, run: 'a', attempt: 1, exit: { h1: 0 } },
      { type: 'collect-start', time: t, run: 'a', attempt: 1 },
      { type: 'run-done', time: t, run: 'a', attempt: 1, files: 2, durationMs: 10 },
      { type: 'run-start', time: t, run: 'b', attempt: 1, hosts: ['h1'] },
      { type: 'run-failed', time: t, run: 'b', attempt: 1, reason: 'h1: exit 2' },
      { type: 'run-start', time: t, run: 'c', attempt: 1, hosts: ['h2'] },
      { type: 'run-executed', time: t, run: 'c', attempt: 1, exit: { h2: 0 } },
      { type: 'run-start', time: t, run: 'd', attempt: 1, hosts: ['h1'] },
      { type: 'run-failed', time: t, run: 'd', attempt: 1, reason: 'interrupted' },
      { type: 'run-start', time: t, run: 'd', attempt: 2, hosts: ['h1'] },
      { type: 'run-done', time: t, run: 'd', attempt: 2, files: 2, durationMs: 5 },
    ];
    const s = foldEvents(events);
    expect(s.get('a')).toMatchObject({ status: 'done', doneAttempt: 1 });
    expect(s.get('b')).toMatchObject({ status: 'failed', attempt: 1, reason: 'h1: exit 2' });
    expect(s.get('c')).toMatchObject({ status: 'running', attempt: 1, phase: 'run-executed', hosts: ['h2'] });
    expect(s.get('d')).toMatchObject({ status: 'done', attempt: 2, doneAttempt: 2 });
    expect(s.get('d')?.reason).toBeUndefined();
    expect(s.has('e')).toBe(false);
  });
});

describe('the run store never overwrites', () => {
  it('attempt folders are created exclusively, after the journal and after any folder a kill left', async () => {
    const a = await createAttempt(root, 'p', 'r1', 0);
    expect(a.attempt).toBe(1);
    // A folder exists that the journal does not know (labrig killed between mkdir and the journal line).
    const b = await createAttempt(root, 'p', 'r1', 0);
    expect(b.attempt).toBe(2);
    const c = await createAttempt(root, 'p', 'r1', 5);
    expect(c.attempt).toBe(6);
    expect(attemptFolders(root, 'p', 'r1')).toEqual([1, 2, 6]);
    await writeOnce(join(a.dir, 'run.json'), '{}');
    await expect(writeOnce(join(a.dir, 'run.json'), '{"x":1}')).rejects.toThrow(/EEXIST/);
    expect(readFileSync(join(a.dir, 'run.json'), 'utf8')).toBe('{}');
  });

  it('a collection is sealed once', async () => {
    const { dir } = await createAttempt(root, 'p', 'r1', 0);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'hosts.partial-1'));
    mkdirSync(join(dir, 'hosts.partial-2'));
    await sealCollection(dir, join(dir, 'hosts.partial-1'));
    await expect(sealCollection(dir, join(dir, 'hosts.partial-2'))).rejects.toThrow(/refusing to overwrite/);
    expect(readdirSync(dir).sort()).toEqual(['hosts', 'hosts.partial-2']);
  });
});

describe('the plan journal', () => {
  it('survives a line torn by a kill: the next event starts on its own line, the torn one is skipped', async () => {
    const j = await openPlanJournal(root, 'p');
    j.append({ type: 'run-start', time: t, run: 'a', attempt: 1, hosts: [] });
    await j.close();
    appendFileSync(join(planDir(root, 'p'), 'journal.jsonl'), '{"type":"run-done","ru'); // torn write
    const j2 = await openPlanJournal(root, 'p');
    j2.append({ type: 'run-failed', time: t, run: 'a', attempt: 1, reason: 'x' });
    await j2.close();
    const lines = readFileSync(join(planDir(root, 'p'), 'journal.jsonl'), 'utf8').split('\n');
    expect(lines[1]).toBe('{"type":"run-done","ru');
    expect((await readPlanEvents(root, 'p')).map((e) => e.type)).toEqual(['run-start', 'run-failed']);
  });
});
