import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRow } from '../types.js';
import { formatCsv, writeCsv } from './csv.js';

function makeRow(overrides: Partial<RunRow>): RunRow {
  return { id: 'r', experiments: ['e'], repeat: 1, status: 'done', attempt: 1, params: {}, metrics: {}, ...overrides };
}

const lines = (csv: string): string[] => csv.replace(/\n$/, '').split('\n');

describe('formatCsv', () => {
  it('has the fixed columns around the sorted union of parameters and of metrics', () => {
    const csv = formatCsv([
      makeRow({ id: 'a', params: { b: 1, a: 'x' }, metrics: { z: 1 } }),
      makeRow({ id: 'b', params: { c: true }, metrics: { y: 2.5, Z: 3 } }),
    ]);
    expect(lines(csv)[0]).toBe('run,experiments,repeat,status,attempt,a,b,c,Z,y,z,started,ended,duration_ms,reason');
    expect(lines(csv)).toHaveLength(3);
    expect(csv.endsWith('\n')).toBe(true);
  });

  it('writes every field of a row, experiments joined with `;`, numbers with String()', () => {
    const csv = formatCsv([
      makeRow({
        id: 'k1',
        experiments: ['scale', 'size'],
        repeat: 2,
        status: 'failed',
        attempt: 3,
        params: { clients: 4, mode: 'fast', tls: false },
        metrics: { tput: 1234.5678, tiny: 1e-7 },
        startedAt: '2024-01-01T00:00:00Z',
        endedAt: '2024-01-01T00:01:00Z',
        durationMs: 60000,
        reason: 'timeout',
      }),
    ]);
    expect(lines(csv)).toEqual([
      'run,experiments,repeat,status,attempt,clients,mode,tls,tiny,tput,started,ended,duration_ms,reason',
      'k1,scale;size,2,failed,3,4,fast,false,1e-7,1234.5678,2024-01-01T00:00:00Z,2024-01-01T00:01:00Z,60000,timeout',
    ]);
  });

  it('quotes a field with a comma, a double quote or a line break (RFC 4180)', () => {
    const csv = formatCsv([
      makeRow({ id: 'q', params: { note: 'plain' }, reason: 'exit 1, said "no"\r\nthen\nquit' }),
      makeRow({ id: 'p', params: { note: 'a"b' } }),
    ]);
    expect(csv).toContain(',"exit 1, said ""no""\r\nthen\nquit"\n');
    expect(csv.split('\n').at(-2)).toBe('p,e,1,done,1,"a""b",,,,');
    expect(formatCsv([makeRow({ reason: 'two\nlines' }), makeRow({ reason: 'cr\ronly' })])).toBe(
      'run,experiments,repeat,status,attempt,started,ended,duration_ms,reason\n' +
        'r,e,1,done,1,,,,"two\nlines"\n' +
        'r,e,1,done,1,,,,"cr\ronly"\n',
    );
  });

  it('prefixes a metric named like a parameter or a fixed column, and a parameter named like a fixed column', () => {
    const csv = formatCsv([
      makeRow({ params: { clients: 2, status: 'on' }, metrics: { clients: 9, reason: 1, tput: 5 } }),
    ]);
    expect(lines(csv)).toEqual([
      'run,experiments,repeat,status,attempt,clients,param_status,metric_clients,metric_reason,tput,started,ended,duration_ms,reason',
      'r,e,1,done,1,2,on,9,1,5,,,,',
    ]);
  });

  it('leaves missing values empty and keeps the given row order', () => {
    const csv = formatCsv([
      makeRow({ id: 'z', status: 'pending', attempt: 0, params: { a: 1 } }),
      makeRow({ id: 'a', params: { b: 2 }, metrics: { m: 3 } }),
    ]);
    expect(lines(csv).slice(1)).toEqual(['z,e,1,pending,0,1,,,,,,', 'a,e,1,done,1,,2,3,,,,']);
  });

  it('writes only the header for no rows, and writeCsv creates the parent folder', async () => {
    expect(formatCsv([])).toBe('run,experiments,repeat,status,attempt,started,ended,duration_ms,reason\n');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'labrig-csv-')), 'deep', 'er', 'runs.csv');
    const rows = [makeRow({ params: { a: 1 } })];
    await writeCsv(file, rows);
    expect(readFileSync(file, 'utf8')).toBe(formatCsv(rows));
  });
});
