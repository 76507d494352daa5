/**
 * The dashboard's server over a workspace folder: the token, paths that leave the run and result
 * folders, a run's grid from its journal (a journal still being written included), step logs, and
 * the live stream. The browser side, with real deploys and sweeps, is e2e/src/dashboard.spec.ts.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '@labrig/core';
import { startDashboard, type Dashboard } from './server.js';

let root: string;
let dash: Dashboard;
const RUN = '20261204-120000.000-abcd';
const time = '2026-12-04T12:00:00.000Z';
const line = (e: RunEvent) => `${JSON.stringify(e)}\n`;

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: dash.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}
const withToken = (p: string) => `${p}${p.includes('?') ? '&' : '?'}token=${dash.token}`;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'labrig-dash-'));
  const dir = join(root, '.labrig/runs', RUN);
  mkdirSync(join(dir, 'logs/tb-1'), { recursive: true });
  writeFileSync(
    join(dir, 'journal.jsonl'),
    [
      line({ type: 'run-start', time, runId: RUN, dir, title: 'kv:deploy', platform: 'lab', hosts: ['tb-0', 'tb-1'], steps: [{ name: 'install', hosts: ['tb-0', 'tb-1'] }, { name: 'start', hosts: ['tb-0'] }], failurePolicy: 'continue', concurrency: 32 }),
      line({ type: 'attempt-start', time, step: 'install', host: 'tb-0', attempt: 1 }),
      line({ type: 'host-end', time, step: 'install', host: 'tb-0', status: 'ok', attempts: 1, durationMs: 120 }),
      line({ type: 'attempt-start', time, step: 'install', host: 'tb-1', attempt: 1 }),
      // A line being written when the page asked: not read yet.
      '{"type":"host-end","time"',
    ].join(''),
  );
  writeFileSync(join(dir, 'logs/tb-1/install.log'), `${Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n')}\n`);
  // A results folder with a symlink pointing out of it.
  mkdirSync(join(root, 'results/p1/r1/attempt-1'), { recursive: true });
  writeFileSync(join(root, 'results/p1/r1/attempt-1/run.json'), '{}');
  writeFileSync(join(root, 'outside.txt'), 'not to be served');
  symlinkSync(join(root, 'outside.txt'), join(root, 'results/p1/r1/attempt-1/link.txt'));
  dash = await startDashboard({ root, pollMs: 50 });
});

afterAll(async () => {
  await dash?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('dashboard server', () => {
  it('listens on 127.0.0.1 and answers only with the token', async () => {
    expect(dash.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{20,}$/);
    expect((await get('/')).status).toBe(401);
    expect((await get('/api/runs?token=nope')).status).toBe(401);
    expect((await get(`/api/runs?token=${dash.token}x`)).status).toBe(401);
    expect((await get('/api/runs', { authorization: `Bearer ${dash.token}` })).status).toBe(200);
    const page = await get(withToken('/'));
    expect(page.status).toBe(200);
    expect(page.type).toContain('text/html');
    expect(page.body).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|https?:\/\/(?!127\.0\.0\.1)/);
  });

  it("a run's grid from its journal so far; a torn last line is left for later", async () => {
    const r = JSON.parse((await get(withToken(`/api/runs/${RUN}`))).body) as { live: boolean; platform: string; system: string; target: string; cells: Record<string, Record<string, { state: string }>> };
    expect(r).toMatchObject({ live: true, platform: 'lab', system: 'kv', target: 'deploy' });
    expect(r.cells).toEqual({
      'tb-0': { install: { state: 'ok', durationMs: 120, attempts: 1 }, start: { state: 'pending' } },
      'tb-1': { install: { state: 'running', attempts: 1 } },
    });
  });

  it('step logs: the end of the file, and only for a host and step of the run', async () => {
    const log = JSON.parse((await get(withToken(`/api/runs/${RUN}/log?host=tb-1&step=install`))).body) as { text: string; truncated: boolean };
    expect(log.truncated).toBe(true);
    expect(log.text.endsWith('line 1999\n')).toBe(true);
    expect(log.text.startsWith('line ')).toBe(true);
    expect(Buffer.byteLength(log.text)).toBeLessThanOrEqual(16_384);
    expect((await get(withToken(`/api/runs/${RUN}/log?host=tb-9&step=install`))).status).toBe(404);
    expect((await get(withToken(`/api/runs/${RUN}/log?host=../../etc&step=passwd`))).status).toBe(404);
  });

  it('paths out of the run and result folders are 404, symlinks out included', async () => {
    expect((await get(withToken('/api/files/p1/r1/attempt-1/run.json'))).status).toBe(200);
    for (const p of [
      '/api/files/p1/../../outside.txt',
      '/api/files/p1/r1/attempt-1/link.txt',
      '/api/files/p1/%2e%2e/%2e%2e/outside.txt',
      '/api/files/p1/..%2f..%2foutside.txt',
      `/api/runs/${RUN}/../../../outside.txt`,
      '/api/runs/not-a-run',
      '/outside.txt',
      '/api/files/%2e%2e/outside.txt',
    ]) {
      const r = await get(withToken(p));
      expect(r.status, p).toBe(404);
      expect(r.body, p).not.toContain('not to be served');
    }
  });

  it('the live stream sends the run as its journal grows, and ends with the run', async () => {
    const events: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: dash.port, path: withToken(`/api/runs/${RUN}/events`) }, (res) => {
        expect(res.headers['content-type']).toContain('text/event-stream');
        let buf = '';
        res.on('data', (c: Buffer) => {
          buf += c.toString();
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            events.push(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
        });
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise((r) => setTimeout(r, 200));
    const journal = join(root, '.labrig/runs', RUN, 'journal.jsonl');
    appendFileSync(journal, `:"${time}","step":"install","host":"tb-1","status":"failed","attempts":1,"durationMs":80,"error":{"name":"CommandFailed","code":"COMMAND_FAILED","message":"exit 2","hint":""}}\n`);
    await new Promise((r) => setTimeout(r, 200));
    appendFileSync(journal, line({ type: 'run-end', time, runId: RUN, dir: '', ok: false, durationMs: 900, counts: { ok: 1, skipped: 0, failed: 1, aborted: 0, 'not-run': 1 }, results: [], steps: ['install', 'start'], hosts: ['tb-0', 'tb-1'] }));
    await done;
    const updates = events.filter((e) => e.startsWith('event: update')).map((e) => JSON.parse(e.slice(e.indexOf('data: ') + 6)) as { live: boolean; cells: Record<string, Record<string, { state: string; error?: string }>> });
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates[0]!.cells['tb-1']!['install']!.state).toBe('running');
    const last = updates.at(-1)!;
    expect(last.live).toBe(false);
    expect(last.cells['tb-1']!['install']).toMatchObject({ state: 'failed', error: 'COMMAND_FAILED: exit 2' });
    expect(events.at(-1)).toMatch(/^event: end/);
  });

  it('is read-only', async () => {
    const r = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: dash.port, path: withToken('/api/runs'), method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{}');
    });
    expect(r).toBe(405);
  });
});
