/**
 * The engine's side of the link (the protocol: @labrig/runner's lib/link.mjs): a unix socket in a
 * 0700 folder of this user, a token file (0600) the client must present, one request per
 * connection. Used by the agent (socket in `.labrig/agent/`) and by the coordinator (socket in its
 * folder on the host, reached over an SSH channel by `node <program> link <socket>`).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, statSync, unlinkSync, writeFileSync, renameSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { frameWriter, LINK_PROTOCOL, readFrames } from '@labrig/runner/link';

export type Frame = Record<string, unknown> & { t: string };

export interface LinkRequest {
  frame: Frame;
  /** Later frames of this connection (a `signal` during a run). */
  onFrame(f: (frame: Frame) => void): void;
  onClose(f: () => void): void;
  send(frame: Frame): void;
  /** Bytes as they are (the native client's binary frames, after its `run`). */
  sendRaw(bytes: Buffer): void;
  /** Close the connection (after the last frame). */
  end(): void;
  readonly closed: boolean;
}

export interface LinkServerOptions {
  socket: string;
  tokenFile: string;
  role: 'agent' | 'coordinator';
  /** The program's sha256 (a client of another program is refused with `program`). */
  program: string;
  /** Told about a hello of another program (the agent retires). */
  onOtherProgram?: () => void;
  /**
   * The program the workspace holds now (undefined: stale, to be rebuilt), for a client that
   * cannot tell (the native client says `checkProgram` instead of its program's sha256).
   */
  currentProgram?: () => string | undefined;
  /** Refuse new requests (retiring). */
  refusing?: () => string | undefined;
  handle(req: LinkRequest): void;
}

/** A folder of this user only (0700), made or fixed; throws when it belongs to someone else. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const s = statSync(dir);
  const uid = process.getuid?.();
  if (uid !== undefined && s.uid !== uid) {
    throw new Error(`${dir} belongs to uid ${s.uid}, not to this user (uid ${uid}): remove it or use another workspace`);
  }
  if ((s.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** A new random token in `file` (0600, replaced atomically). */
export function writeToken(file: string): string {
  const token = randomBytes(32).toString('hex');
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  return token;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Listen on the socket (a stale socket file is replaced: the caller holds the engine's lock). */
export async function serveLink(o: LinkServerOptions): Promise<{ server: Server; token: string; close(): Promise<void> }> {
  ensurePrivateDir(dirname(o.socket));
  ensurePrivateDir(dirname(o.tokenFile));
  const token = writeToken(o.tokenFile);
  if (existsSync(o.socket)) unlinkSync(o.socket);
  const server = createServer((socket: Socket) => accept(socket));
  const accept = (socket: Socket): void => {
    socket.on('error', () => undefined);
    const send = frameWriter(socket);
    let greeted = false;
    let refused = false;
    let closed = false;
    const frameListeners: Array<(f: Frame) => void> = [];
    const closeListeners: Array<() => void> = [];
    socket.on('close', () => {
      closed = true;
      for (const f of closeListeners) f();
    });
    readFrames(
      socket,
      (f: Frame) => {
        // After a refusal nothing else of this connection is read: a request sent along with a
        // refused hello (a wrong token, a passed deadline) is never handled.
        if (refused) return;
        if (!greeted) {
          greeted = true;
          const refuse = (code: string, message: string): void => {
            refused = true;
            send({ t: 'refuse', code, message });
            socket.end();
          };
          if (f.t !== 'hello') return refuse('protocol', `expected hello, got ${f.t}`);
          if (f['protocol'] !== LINK_PROTOCOL) return refuse('protocol', `link protocol ${String(f['protocol'])}, this engine speaks ${LINK_PROTOCOL}`);
          if (typeof f['token'] !== 'string' || !sameToken(f['token'], token)) return refuse('token', 'wrong token (the engine was restarted, or this is not its user)');
          // A client that sent its request with its hello and gives up at `deadline` (the native
          // client, when the engine was stopped or stuck) has run it elsewhere by now: never run it twice.
          if (typeof f['deadline'] === 'number' && Date.now() > f['deadline']) return refuse('timeout', 'the client gave up waiting before this hello was read');
          const theirs = typeof f['program'] === 'string' ? f['program'] : f['checkProgram'] === true && o.currentProgram ? (o.currentProgram() ?? 'stale') : undefined;
          if (theirs !== undefined && theirs !== o.program) {
            refuse('program', `this engine runs program ${o.program.slice(0, 12)}, the workspace has ${theirs.slice(0, 12)}`);
            o.onOtherProgram?.();
            return;
          }
          const retiring = o.refusing?.();
          if (retiring) return refuse('retiring', retiring);
          send({ t: 'welcome', protocol: LINK_PROTOCOL, program: o.program, pid: process.pid, role: o.role });
          return;
        }
        if (frameListeners.length) {
          for (const l of frameListeners) l(f);
          return;
        }
        o.handle({
          frame: f,
          onFrame: (l) => frameListeners.push(l),
          onClose: (l) => closeListeners.push(l),
          send: (frame) => {
            if (!closed) send(frame);
          },
          sendRaw: (bytes) => {
            if (!closed) socket.write(bytes);
          },
          end: () => socket.end(),
          get closed() {
            return closed;
          },
        });
      },
      () => {
        send({ t: 'refuse', code: 'protocol', message: 'a frame that is not a JSON object' });
        socket.destroy();
      },
    );
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.socket, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(o.socket, 0o600);
  return {
    server,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        try {
          unlinkSync(o.socket);
        } catch {
          /* gone */
        }
      }),
  };
}
