/**
 * The dashboard's web server: Node's http, 127.0.0.1 only, read-only over the workspace's
 * `.labrig/runs/` and `results/`. Every request must carry the one-time token (`?token=` or
 * `Authorization: Bearer`): 401 otherwise. Paths name runs, hosts, steps, plans and files that
 * exist; anything else (`../`, absolute paths, symlinks out) is 404. Live views are server-sent
 * events: the server polls the journal it serves (a few stat calls a second) and sends what changed.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { JOURNAL_FILE } from '@labrig/core';
import { planDir } from '@labrig/experiments';
import { CoordinatorReader, PLAN_NAME, listExperiments, plotSvg, readExperiment, resultFile } from './experiments.js';
import { RUN_ID, listRunIds, listRuns, readRun, runDir, stepLogTail } from './runs.js';
import { PAGE } from './page.js';

export interface DashboardOptions {
  /** The workspace root. */
  root: string;
  /** 0 (default): a free port. */
  port?: number;
  /** Default: a new random token. */
  token?: string;
  /** How often live views look for changes. Default 300 ms. */
  pollMs?: number;
}

export interface Dashboard {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** Start the server on 127.0.0.1; resolves once it listens. */
export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const token = o.token ?? randomBytes(18).toString('base64url');
  const pollMs = o.pollMs ?? 300;
  const streams = new Set<ServerResponse>();
  const coordinator = new CoordinatorReader(o.root);
  /** A sweep on a coordinator changes there, not in the local journal: its stream looks every few seconds. */
  const handedOver = async (plan: string) => (await readExperiment(o.root, plan, { files: false }))?.coordinator !== undefined;
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain', `dashboard error: ${(e as Error).message.split('\n')[0]}\n`);
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'read-only\n');
    if (!authorized(req, url, token)) return send(res, 401, 'text/plain', 'a token is needed: open the URL labrig printed (it ends in ?token=...)\n');
    // Path segments as given, decoded once; `..` or an empty segment is never a name here.
    const raw = url.pathname.split('/').slice(1);
    let parts: string[];
    try {
      parts = raw.map((p) => decodeURIComponent(p));
    } catch {
      return notFound(res);
    }
    if (parts.some((p) => p === '..' || p === '.' || p.includes('/') || p.includes('\\') || p.includes('\0'))) return notFound(res);
    const [a, b, c, d, ...rest] = parts;
    if (url.pathname === '/') {
      res.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'");
      return send(res, 200, 'text/html; charset=utf-8', PAGE);
    }
    if (a !== 'api') return notFound(res);
    if (b === 'runs' && c === undefined) return json(res, listRuns(o.root));
    if (b === 'runs-stream' && c === undefined) return stream(res, () => listRuns(o.root).slice(0, 50), () => runsStamp(o.root));
    if (b === 'runs' && c !== undefined && RUN_ID.test(c) && rest.length === 0) {
      if (!existsSync(join(runDir(o.root, c), JOURNAL_FILE))) return notFound(res);
      if (d === undefined) return json(res, readRun(o.root, c));
      if (d === 'events') return stream(res, () => readRun(o.root, c), () => fileStamp(join(runDir(o.root, c), JOURNAL_FILE)), (v) => v !== undefined && !v.live);
      if (d === 'log') {
        const tail = stepLogTail(o.root, c, url.searchParams.get('host') ?? '', url.searchParams.get('step') ?? '');
        return tail ? json(res, tail) : notFound(res);
      }
      return notFound(res);
    }
    if (b === 'experiments' && c === undefined) return json(res, await listExperiments(o.root, { coordinator }));
    if (b === 'experiments' && c !== undefined && PLAN_NAME.test(c)) {
      if (d === undefined && rest.length === 0) {
        const x = await readExperiment(o.root, c, { coordinator });
        return x ? json(res, x) : notFound(res);
      }
      if (d === 'events' && rest.length === 0) {
        if (!(await readExperiment(o.root, c, { files: false }))) return notFound(res);
        const remote = await handedOver(c);
        const local = () => fileStamp(join(planDir(o.root, c), JOURNAL_FILE));
        return stream(res, () => readExperiment(o.root, c, { coordinator }), remote ? () => `${local()}@${Math.floor(Date.now() / 3000)}` : local);
      }
      if (d === 'plots' && parts[4] !== undefined && /^[A-Za-z0-9_.-]+\.svg$/.test(parts[4]) && parts.length === 5) {
        const svg = await plotSvg(o.root, c, parts[4].slice(0, -4));
        return svg ? send(res, 200, 'image/svg+xml', svg) : notFound(res);
      }
      return notFound(res);
    }
    if (b === 'files' && c !== undefined && d !== undefined) {
      const file = resultFile(o.root, c, [d, ...rest].join('/'));
      if (!file) return notFound(res);
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': statSync(file).size, 'Content-Disposition': 'inline' });
      if (req.method === 'HEAD') return void res.end();
      createReadStream(file).pipe(res);
      return;
    }
    return notFound(res);
  }

  /** Server-sent events: the value now, then again whenever `stamp` changes; ends when `done`. */
  async function stream<T>(res: ServerResponse, value: () => T | Promise<T>, stamp: () => string, done?: (v: T) => boolean): Promise<void> {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    streams.add(res);
    let last: string | undefined; // the first tick always sends
    let busy = false;
    let beat = 0;
    const tick = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        const s = stamp();
        if (s !== last) {
          last = s;
          const v = await value();
          res.write(`event: update\ndata: ${JSON.stringify(v)}\n\n`);
          if (done?.(v)) {
            res.write('event: end\ndata: {}\n\n');
            stop();
            res.end();
          }
        } else if (++beat % Math.max(1, Math.round(15_000 / pollMs)) === 0) res.write(': keep-alive\n\n');
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void tick().catch(() => undefined), pollMs);
    timers.add(timer);
    const stop = (): void => {
      clearInterval(timer);
      timers.delete(timer);
      streams.delete(res);
    };
    res.on('close', stop);
    await tick();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      for (const t of timers) clearInterval(t);
      for (const s of streams) s.end();
      server.closeAllConnections();
      await coordinator.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function authorized(req: IncomingMessage, url: URL, token: string): boolean {
  const given = url.searchParams.get('token') ?? /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function json(res: ServerResponse, v: unknown): void {
  if (v === undefined) return notFound(res);
  send(res, 200, 'application/json; charset=utf-8', JSON.stringify(v));
}

function notFound(res: ServerResponse): void {
  send(res, 404, 'text/plain', 'not found\n');
}

function fileStamp(file: string): string {
  try {
    const s = statSync(file);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'none';
  }
}

/** Changes when a run starts or a recent run's journal grows. */
function runsStamp(root: string): string {
  return listRunIds(root)
    .slice(0, 5)
    .map((id) => `${id}:${fileStamp(join(runDir(root, id), JOURNAL_FILE))}`)
    .join(',');
}
