/**
 * Nx's self-hosted remote cache API (Nx >= 20.8): `GET /v1/cache/{hash}` answers the entry's tar
 * bytes (404 when absent), `PUT /v1/cache/{hash}` stores one. Bearer tokens: read-only tokens may
 * GET, read-write tokens may also PUT (403 otherwise, 401 without a known token). An existing
 * entry is never overwritten (409), an entry above the size limit is refused (413), bodies are
 * streamed. One log line per request names the token by id, never by value.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import type { CacheServerConfig, Token } from './config.js';
import type { EntryStorage } from './storage.js';

const PATH_RE = /^\/v1\/cache\/([A-Za-z0-9_.-]{1,256})$/;

class TooLarge extends Error {}

function send(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain', // Nx checks exactly this on 401/403
    'content-length': Buffer.byteLength(message) });
  res.end(message);
}

function tokenOf(req: IncomingMessage, tokens: Map<string, Token>): Token | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m ? tokens.get(m[1]!) : undefined;
}

export function createCacheServer(cfg: CacheServerConfig, storage: EntryStorage, log: (line: string) => void = (l) => console.log(l)): Server {
  const writing = new Set<string>();
  return createServer((req, res) => {
    const t0 = Date.now();
    let bytes = 0;
    let who = '-';
    const path = (req.url ?? '').split('?')[0]!;
    const m = PATH_RE.exec(path);
    const hash = m?.[1] ?? path;
    res.on('finish', () => log(`${req.method} ${hash} ${res.statusCode} ${bytes}B ${Date.now() - t0}ms token=${who}`));
    void (async () => {
      if (!m) return send(res, 404, 'not found: the API is GET/PUT /v1/cache/{hash}\n');
      const token = tokenOf(req, cfg.tokens);
      if (!token) return send(res, 401, 'missing or unknown bearer token\n');
      who = token.id;
      if (req.method === 'GET') {
        const entry = await storage.get(hash);
        if (!entry) return send(res, 404, 'no such entry\n');
        res.writeHead(200, { 'content-type': 'application/octet-stream', ...(entry.length !== undefined ? { 'content-length': entry.length } : {}) });
        entry.body.on('data', (c: Buffer) => (bytes += c.length));
        entry.body.pipe(res);
        entry.body.on('error', () => res.destroy());
        return;
      }
      if (req.method !== 'PUT') {
        res.setHeader('allow', 'GET, PUT');
        return send(res, 405, 'only GET and PUT\n');
      }
      if (!token.write) return send(res, 403, 'this token may only read\n');
      const declared = Number(req.headers['content-length'] ?? NaN);
      if (declared > cfg.maxBytes) return send(res, 413, `entry of ${declared} bytes is above the limit of ${cfg.maxBytes}\n`);
      if (writing.has(hash) || (await storage.has(hash))) {
        req.resume();
        return send(res, 409, 'an entry with this hash exists: it is never overwritten\n');
      }
      writing.add(hash);
      let tooLarge = false;
      try {
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            bytes += chunk.length;
            if (bytes > cfg.maxBytes) {
              tooLarge = true;
              return cb(new TooLarge(`entry above the limit of ${cfg.maxBytes} bytes`));
            }
            cb(null, chunk);
          },
        });
        req.on('error', (e) => counter.destroy(e));
        req.pipe(counter);
        await storage.put(hash, counter);
        send(res, 200, 'stored\n');
      } catch (e) {
        if (!tooLarge) throw e;
        req.resume(); // the upload was aborted (its parts discarded); drain what the client still sends
        send(res, 413, `entry above the limit of ${cfg.maxBytes} bytes\n`);
      } finally {
        writing.delete(hash);
      }
    })().catch((e: unknown) => {
      log(`error ${req.method} ${hash}: ${(e as Error).message}`);
      send(res, 500, 'storage error\n');
    });
  });
}
