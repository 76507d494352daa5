/// <reference lib="dom" />
/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core), over a workspace
 * where the real `nx` CLI deploys the demo to real sshd hosts and runs its sweep:
 * - during a deploy, the run page shows every host and its steps turning ok, with no page reload;
 * - during the sweep, the experiment page's count of done runs rises to 12 and the throughput plot appears;
 * - a host frozen by the testbed shows failed, with its error and the last lines of its log;
 * - no console errors on any page; no token: 401; `../`: 404; a secret canary given to the system
 *   is in no page and no API answer.
 * `tools/dashboard-screenshots` runs this spec with LABRIG_SCREENSHOTS=docs/images: the run page and
 * the experiment page are saved there as the test sees them (docs/dashboard.md shows them).
 * Hosts on 127.0.154.x:2590.
 */
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '@labrig/dashboard';
import { down, freeze, loadState, thaw, type TestbedState } from '@labrig/testbed';
import { createE2eWorkspace, localPlatformFile, testbedDir, type CommandResult, type E2eWorkspace } from './workspace.js';

const repository = join(import.meta.dirname, '../..');
const CANARY = 'canary-6e1f0c2d-dashboard-secret';
const CHROMIUM = process.env['LABRIG_CHROMIUM'] ?? '/usr/bin/chromium';
let ws: E2eWorkspace;
let tbDir: string;
let tb: TestbedState;
let dash: Dashboard;
let browser: Browser;
const consoleErrors: string[] = [];

const nx = (args: string[]): Promise<CommandResult> => ws.nx(args, { DASH_CANARY: CANARY });

function expectOk(r: CommandResult, what: string): void {
  expect(r.exitCode, `${what} failed:\n${r.all}`).toBe(0);
}

async function newPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  return page;
}

/** With LABRIG_SCREENSHOTS set (tools/dashboard-screenshots), the page as the test sees it, saved there. */
async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env['LABRIG_SCREENSHOTS'];
  if (dir) await page.screenshot({ path: join(dir, name), fullPage: false });
}

/** GET with a raw path (no URL normalization: `../` reaches the server as typed). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: dash.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const api = async (path: string): Promise<string> => {
  const r = await rawGet(`${path}${path.includes('?') ? '&' : '?'}token=${dash.token}`);
  expect(r.status, `${path}: ${r.body.slice(0, 200)}`).toBe(200);
  return r.body;
};

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: tools/setup installs Debian's chromium (or set LABRIG_CHROMIUM)`);
  ws = createE2eWorkspace('e2e-dash-');
  tbDir = testbedDir('dash');
  ws.write('configs/platforms/dash/platform.toml', localPlatformFile({ dir: tbDir, hosts: 4, addressBase: '127.0.154.0', port: 2590, extra: ['[ssh]', 'connectTimeout = "3s"', '[run]', 'timeout = "1m"'] }));
  for (const f of readdirSync(join(repository, 'targets/demo/src'))) ws.write(`targets/demo/src/${f}`, readFileSync(join(repository, 'targets/demo/src', f)));
  const demo = readFileSync(join(repository, 'targets/demo/system.toml'), 'utf8')
    // Files go out over SSH (no store here); the servers take 2 s to start, so a deploy can be watched.
    .replace(/distribution = "store".*\n/, '')
    .replace('start = ["{dir}/bin/kvserver", ', 'start = ["sh", "-c", "sleep 2; exec \\"$0\\" \\"$@\\"", "{dir}/bin/kvserver", ')
    .replace('[[setup]]', '[env]\nCANARY = { secret = "DASH_CANARY" }\n\n[[setup]]')
    // A task that prints the secret: its log must show it redacted, in the files and in the dashboard.
    .concat('\n[tasks.leak]\nrole = "client"\ncommand = ["sh", "-c", "echo token=$CANARY"]\n');
  ws.write('targets/demo/system.toml', demo);
  ws.write('configs/experiments/dash-sweep.toml', readFileSync(join(repository, 'configs/experiments/demo-sweep.toml'), 'utf8').replace('platform = "local"', 'platform = "dash"'));
  const up = await ws.nx(['run', 'dash:up']);
  if (up.exitCode !== 0) throw new Error(`nx run dash:up failed:\n${up.all}`);
  tb = await loadState(tbDir);
  dash = await startDashboard({ root: ws.dir, pollMs: 200 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await dash?.close();
  if (tb?.hosts) for (const h of tb.hosts) await thaw(tb, h.name).catch(() => undefined);
  if (ws) await ws.nx(['run', 'demo:stop', '-c', 'dash']).catch(() => undefined);
  if (tbDir && existsSync(join(tbDir, 'state.json'))) await down(tbDir);
  if (tbDir) rmSync(tbDir, { recursive: true, force: true });
  if (ws && !process.env['KEEP']) ws.remove();
}, 120_000);

describe('the dashboard in a browser', { timeout: 400_000 }, () => {
  it('during a deploy, the run page shows every host and its steps turning ok, without a reload', async () => {
    const page = await newPage();
    await page.goto(`${dash.url}#/runs`);
    await page.waitForSelector('table#runs tr');
    const deploying = nx(['run', 'demo:deploy', '-c', 'dash', '--output=plain']);
    // The deploy's run appears in the list (live), still running; open it.
    const link = page.locator('tr.live[data-run]', { hasText: 'deploy' }).locator('a');
    await link.first().waitFor({ timeout: 120_000 });
    await link.first().click();
    await page.waitForSelector('#grid td.cell');
    // Every state each cell shows, as the page redraws it.
    await page.evaluate(() => {
      const w = window as unknown as { seen: string[] };
      w.seen = [];
      const note = () => document.querySelectorAll('#grid td.cell[data-state]').forEach((td) => w.seen.push(`${td.getAttribute('data-host')}/${td.getAttribute('data-step')}=${td.getAttribute('data-state')}`));
      note();
      new MutationObserver(note).observe(document.getElementById('app')!, { childList: true, subtree: true });
    });
    expectOk(await deploying, 'deploy');
    await page.waitForSelector('#run-state[data-state="ok"]', { timeout: 30_000 });
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    const final = await page.$$eval('#grid td.cell[data-state]', (tds) => tds.map((td) => `${td.getAttribute('data-host')}/${td.getAttribute('data-step')}=${td.getAttribute('data-state')}`));
    const hosts = new Set(final.map((c) => c.split('/')[0]));
    expect([...hosts].sort()).toEqual(['tb-0', 'tb-1', 'tb-2', 'tb-3']);
    expect(final.every((c) => /=(ok|skipped)$/.test(c)), final.join('\n')).toBe(true);
    expect(final.some((c) => c.includes('start:server=ok'))).toBe(true);
    // Seen before it was ok: the page followed the run as it went.
    expect(seen.some((c) => /start:server=(running|pending)$/.test(c)), seen.slice(0, 30).join('\n')).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { labrigPageLoads: number }).labrigPageLoads)).toBe(1);
    // A cell opens that host's step log.
    await page.locator('#grid td.cell[data-host="tb-0"][data-step="start:server"]').click();
    await page.waitForSelector('#log-text');
    expect(await page.textContent('#log-text')).toContain('kvserver');
    await screenshot(page, 'dashboard-run.png');
    await page.close();
  });

  it("during the sweep, the experiment page's done count rises to 12 and the throughput plot appears", async () => {
    const page = await newPage();
    await page.goto(`${dash.url}#/experiments/dash-sweep`);
    await page.waitForSelector('#done-count');
    await page.evaluate(() => {
      const w = window as unknown as { counts: number[] };
      w.counts = [];
      const note = () => {
        const n = Number(document.getElementById('done-count')?.textContent ?? 'NaN');
        if (w.counts.at(-1) !== n) w.counts.push(n);
      };
      note();
      new MutationObserver(note).observe(document.getElementById('app')!, { childList: true, subtree: true, characterData: true });
    });
    const sweep = nx(['run', 'demo:experiment', '--plan=dash-sweep', '--output=plain']);
    await page.waitForFunction(() => document.getElementById('done-count')?.textContent === '12', undefined, { timeout: 300_000 });
    expectOk(await sweep, 'sweep');
    const counts = await page.evaluate(() => (window as unknown as { counts: number[] }).counts);
    expect(counts[0]).toBe(0);
    expect(counts.at(-1)).toBe(12);
    expect(counts.some((n) => n > 0 && n < 12), `counts seen: ${counts.join(',')}`).toBe(true);
    expect([...counts].sort((a, b) => a - b)).toEqual(counts);
    const plot = page.locator('img[data-plot="throughput"]');
    await plot.waitFor();
    await page.waitForFunction(() => ((document.querySelector('img[data-plot="throughput"]') as HTMLImageElement | null)?.naturalWidth ?? 0) > 100);
    expect(await page.locator('#exp-runs tr.done').count()).toBe(12);
    await screenshot(page, 'dashboard-experiment.png');
    // Every collected file is linked with its sha256.
    expect(await page.locator('#exp-runs a[title^="sha256 "]').count()).toBeGreaterThanOrEqual(12 * 2);
    expect(await page.evaluate(() => (window as unknown as { labrigPageLoads: number }).labrigPageLoads)).toBe(1);
    await page.close();
  });

  it('a frozen host shows failed, with its error and the last lines of its log', async () => {
    await freeze(tb, 'tb-3');
    let r: CommandResult;
    try {
      r = await nx(['run', 'demo:deploy', '-c', 'dash', '--output=plain']);
    } finally {
      await thaw(tb, 'tb-3');
    }
    expect(r.exitCode, r.all).not.toBe(0);
    // The deploy stops at its first run that reaches tb-3 (setup): the newest failed run.
    const runs = JSON.parse(await api('/api/runs')) as { id: string; target: string; ok?: boolean; counts: { failed: number } }[];
    const failed = runs.find((x) => x.ok === false)!;
    expect(failed, JSON.stringify(runs.slice(0, 5))).toBeDefined();
    expect(failed.counts.failed).toBe(1);
    const page = await newPage();
    await page.goto(`${dash.url}#/runs/${failed.id}`);
    const cell = page.locator('#grid td.cell[data-host="tb-3"][data-state="failed"]');
    await cell.first().waitFor();
    const box = page.locator('#failures .failure[data-host="tb-3"]');
    await box.first().waitFor();
    expect(await box.first().locator('.error').textContent()).toMatch(/UNREACHABLE|unreachable|timed out|TIMEOUT/);
    await box.first().locator('pre.tail').waitFor();
    expect((await box.first().locator('pre.tail').textContent())!.trim().length).toBeGreaterThan(0);
    await page.close();
  });

  it('401 without the token, 404 for ../, no console error on any page, and the canary nowhere', async () => {
    expectOk(await nx(['run', 'demo:leak', '-c', 'dash', '--output=plain']), 'leak task');
    for (const p of ['/', '/api/runs', '/api/experiments', '/api/experiments/dash-sweep']) {
      expect((await rawGet(p)).status, p).toBe(401);
      expect((await rawGet(`${p}?token=wrong-${dash.token}`)).status, p).toBe(401);
    }
    for (const p of ['/api/files/dash-sweep/../../../package.json', '/api/files/dash-sweep/%2e%2e/%2e%2e/package.json', '/api/files/..%2f..%2fpackage.json', '/api/runs/../../package.json', '/../package.json', '/api/files/dash-sweep/%2fetc%2fpasswd']) {
      const r = await rawGet(`${p}${p.includes('?') ? '&' : '?'}token=${dash.token}`);
      expect(r.status, `${p}: ${r.body.slice(0, 100)}`).toBe(404);
    }
    // Every API answer and page: the leak task's log holds the secret only redacted.
    const bodies: string[] = [await api('/')];
    const runs = JSON.parse(await api('/api/runs')) as { id: string }[];
    bodies.push(JSON.stringify(runs));
    let sawLeakLog = false;
    for (const run of runs) {
      const d = JSON.parse(await api(`/api/runs/${run.id}`)) as { hostNames: string[]; steps: { name: string }[] };
      bodies.push(JSON.stringify(d));
      for (const h of d.hostNames) {
        for (const s of d.steps) {
          const log = await rawGet(`/api/runs/${run.id}/log?host=${encodeURIComponent(h)}&step=${encodeURIComponent(s.name)}&token=${dash.token}`);
          if (log.status === 200) bodies.push(log.body);
          if (s.name === 'leak' && log.body.includes('token=')) sawLeakLog = true;
        }
      }
    }
    expect(sawLeakLog, 'the leak task printed nothing the dashboard shows').toBe(true);
    const exp = await api('/api/experiments/dash-sweep');
    bodies.push(await api('/api/experiments'), exp);
    for (const row of (JSON.parse(exp) as { rows: { files: { path: string }[] }[] }).rows) for (const f of row.files) bodies.push(await api(`/api/files/dash-sweep/${f.path.split('/').map(encodeURIComponent).join('/')}`));
    for (const b of bodies) expect(b.includes(CANARY), b.slice(0, 200)).toBe(false);
    // Pages as a browser shows them.
    const page = await newPage();
    for (const view of ['#/runs', '#/experiments', '#/experiments/dash-sweep', `#/runs/${runs[0]!.id}`]) {
      await page.goto(`${dash.url}${view}`);
      await page.waitForLoadState('networkidle').catch(() => undefined);
      await page.waitForTimeout(500);
      expect(await page.content()).not.toContain(CANARY);
    }
    await page.close();
    expect(consoleErrors, consoleErrors.join('\n')).toEqual([]);
  });

  it('nx run demo:dashboard serves the page and prints its URL with the token', async () => {
    const { execa } = await import('execa');
    const child = execa('npx', ['nx', 'run', 'demo:dashboard', '--port=0'], { cwd: ws.dir, env: { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' }, reject: false, all: true, detached: true });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no URL in 120 s:\n${out}`)), 120_000);
      child.all!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /labrig dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
    });
    try {
      const ok = await fetch(url);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('labrig dashboard');
      expect((await fetch(url.replace(/\?token=.*/, ''))).status).toBe(401);
    } finally {
      // Ctrl-C reaches the whole command (npx, nx, the runner), as from a terminal.
      process.kill(-child.pid!, 'SIGINT');
      const ended = await Promise.race([child.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
      if (!ended) process.kill(-child.pid!, 'SIGKILL');
      expect(ended, 'the dashboard did not stop on Ctrl-C').toBe(true);
    }
    // Stopped means stopped: nothing listens there any more.
    await expect(fetch(url)).rejects.toThrow();
    {
    }
  });
});
