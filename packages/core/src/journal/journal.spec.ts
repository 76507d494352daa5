import { appendFileSync, mkdtempSync, openSync, closeSync, fdatasyncSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal, readJournal } from './journal.js';
import { createRunDir, createRunId, latestRunDir, markLatest } from './run-dir.js';

describe('run ids and dirs', () => {
  it('ids sort by time', () => {
    const a = createRunId(new Date('2026-11-22T15:30:12Z'), 'ab12');
    expect(a).toBe('20261122-153012.000-ab12');
    expect(createRunId(new Date('2026-11-22T15:30:13Z'), '0000') > a).toBe(true);
    expect(createRunId()).toMatch(/^\d{8}-\d{6}\.\d{3}-[0-9a-f]{4}$/);
    // Within one second, ids still sort by time whatever their random suffix.
    expect(createRunId(new Date('2026-11-22T15:30:12.120Z'), 'ffff') < createRunId(new Date('2026-11-22T15:30:12.121Z'), '0000')).toBe(true);
  });

  it('creates the run dir and points latest at it', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'labrig-runs-'));
    const one = await createRunDir(root);
    await markLatest(root, one.id);
    const two = await createRunDir(root);
    await markLatest(root, two.id);
    expect(await latestRunDir(root)).toBe(two.dir);
    await expect(createRunDir(root, two.id)).rejects.toThrow(/already exists/);
  });
});

describe('Journal', () => {
  it('writes one JSON line per record, in order, and reads them back', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'labrig-j-'));
    const j = await Journal.open(dir);
    for (let i = 0; i < 100; i++) j.append({ type: 'e', i });
    await j.flush();
    j.append({ type: 'last' });
    await j.close();
    const recs = await readJournal<{ type: string; i?: number }>(dir);
    expect(recs).toHaveLength(101);
    expect(recs.slice(0, 100).map((r) => r.i)).toEqual([...Array(100).keys()]);
    expect(j.stats.lines).toBe(101);
    expect(j.stats.batches).toBeLessThan(101); // lines queued during a sync share the next one
  });

  it('ignores a torn last line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'labrig-j-'));
    const j = await Journal.open(dir);
    j.append({ a: 1 });
    await j.close();
    appendFileSync(path.join(dir, 'journal.jsonl'), '{"a":');
    expect(await readJournal(dir)).toEqual([{ a: 1 }]);
  });

  it('group commit: cost per event for 32 concurrent producers (printed)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'labrig-j-'));
    const events = 32 * 20;
    const line = JSON.stringify({ type: 'attempt-end', step: 'setup', host: 'tb-17', attempt: 1, status: 'ok', durationMs: 1234, time: new Date().toISOString() });

    // Group commit: 32 "hosts" each emit 20 events, flushing after each (as if awaiting durability).
    const j = await Journal.open(dir);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = 0; i < 20; i++) {
          j.append(JSON.parse(line) as object);
          await j.flush();
        }
      }),
    );
    await j.close();
    const groupMs = performance.now() - t0;

    // Baseline: one write + fdatasync per line.
    const fd = openSync(path.join(dir, 'naive.jsonl'), 'a');
    const t1 = performance.now();
    for (let i = 0; i < events; i++) {
      writeSync(fd, `${line}\n`);
      fdatasyncSync(fd);
    }
    const naiveMs = performance.now() - t1;
    closeSync(fd);

    expect((await readJournal(dir)).length).toBe(events);
    expect(j.stats.batches).toBeLessThan(events);
    console.info(
      `journal: ${events} events, group commit ${(groupMs / events).toFixed(3)} ms/event in ${j.stats.batches} batches ` +
        `(${(j.stats.syncMs / j.stats.batches).toFixed(3)} ms per write+fdatasync); ` +
        `per-line fdatasync ${(naiveMs / events).toFixed(3)} ms/event`,
    );
  });
});
