// @ts-check
/**
 * The link: how a thin client talks to a long-lived labrig engine (the program of @labrig/engine).
 * One protocol, two places: the labrig agent on this machine (a unix socket under
 * `.labrig/agent/`), and the coordinator of a sweep on a deployed host (a unix socket in its
 * folder, reached over an SSH channel running `node <program> link <socket>`, which copies bytes
 * between the channel and the socket).
 *
 * Frames are JSON objects, one per line. The client speaks first:
 *
 *   -> { t: 'hello', protocol, token, program? }   token: the engine folder's `token` file (0600);
 *                                                    program: the sha256 of the client's program
 *                                                    (or checkProgram: true: the agent compares its
 *                                                    own with the workspace's, for the native client);
 *                                                    deadline?: epoch ms after which the client has
 *                                                    given up (refused: a request sent with the hello
 *                                                    is never run after its client ran it elsewhere)
 *   <- { t: 'welcome', protocol, program, pid, role }           role: 'agent' | 'coordinator'
 *   <- { t: 'refuse', code, message }                            code: 'token' | 'protocol' | 'program' | 'retiring'
 *
 * Then one request per connection:
 *
 *   -> { t: 'run', ref, project, projectRoot, argv, env, cwd, tty }   (agent) run one executor
 *   <- { t: 'out', fd: 1 | 2, s?: string, b?: base64 } ...            its output, already redacted
 *   -> { t: 'signal', signal }                                         Ctrl-C etc.: stops this command only
 *   <- { t: 'exit', code }                                             the exit status; the engine closes
 *
 *   <- { t: 'refuse', code: 'in-process' }                             this executor runs in the client's process
 *
 *   A `run` with `raw: true` (the native client, ../native/labrig-run-fast.c) is answered with
 *   binary frames instead: 1 byte kind (1 stdout, 2 stderr, 3 exit status as int32, 4 a refusal's
 *   JSON), 4 bytes payload length (big-endian), the payload.
 *
 *   -> { t: 'status' }              <- { t: 'status', ... }            (both) what the engine holds
 *   -> { t: 'stop', mode }          <- { t: 'stopping', mode }         (both) agent: exit when idle;
 *                                                                      coordinator: 'after-run' | 'now'
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const LINK_PROTOCOL = 1;

/** A unix socket path longer than this does not fit in sockaddr_un (108 bytes with the NUL). */
const MAX_SOCKET_PATH = 100;

/**
 * Write frames to a stream.
 * @param {{ write(s: string): unknown }} stream
 * @returns {(frame: Record<string, unknown>) => void}
 */
export function frameWriter(stream) {
  return (frame) => {
    stream.write(`${JSON.stringify(frame)}\n`);
  };
}

/**
 * Read frames from a stream: `onFrame` for each, `onBad` for a line that is not a JSON object.
 * @param {NodeJS.ReadableStream} stream
 * @param {(frame: Record<string, any>) => void} onFrame
 * @param {(line: string) => void} [onBad]
 */
export function readFrames(stream, onFrame, onBad) {
  let buf = '';
  stream.setEncoding?.('utf8');
  stream.on('data', (chunk) => {
    buf += String(chunk);
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line === '') continue;
      let frame;
      try {
        frame = JSON.parse(line);
      } catch {
        onBad?.(line);
        continue;
      }
      if (frame && typeof frame === 'object' && typeof frame.t === 'string') onFrame(frame);
      else onBad?.(line);
    }
  });
}

/**
 * Where a workspace's agent lives: `.labrig/agent/` (0700) with its socket, token, pid file,
 * journal and log. When the socket path would be too long for a unix socket, the socket goes to
 * a 0700 folder of this user under the temporary folder, named by the workspace.
 * @param {string} root
 */
export function agentPaths(root) {
  const dir = join(root, '.labrig', 'agent');
  let socket = join(dir, 'agent.sock');
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
    socket = join(tmpdir(), `labrig-agent-${uid}`, `${createHash('sha256').update(root).digest('hex').slice(0, 16)}.sock`);
  }
  return {
    dir,
    socket,
    token: join(dir, 'token'),
    pid: join(dir, 'agent.pid'),
    journal: join(dir, 'agent.jsonl'),
    log: join(dir, 'agent.log'),
  };
}

/**
 * Whether commands go through the agent: `LABRIG_AGENT=off` (or `0`, `false`, `no`) never, `on`
 * always; unset: on, except in CI (`CI` set and not `false`/`0`), where each job starts from
 * nothing and a process outliving the job is not wanted (docs/architecture.md, The agent).
 * @param {Record<string, string | undefined>} env
 * @returns {'on' | 'off'}
 */
export function agentMode(env) {
  const v = (env['LABRIG_AGENT'] ?? '').trim().toLowerCase();
  if (['off', '0', 'false', 'no'].includes(v)) return 'off';
  if (['on', '1', 'true', 'yes'].includes(v)) return 'on';
  const ci = (env['CI'] ?? '').trim().toLowerCase();
  return ci !== '' && ci !== 'false' && ci !== '0' ? 'off' : 'on';
}

/**
 * The agent's idle time before it exits, from `LABRIG_AGENT_IDLE` (`30s`, `10m`, `1h`); default 10 min.
 * @param {Record<string, string | undefined>} env
 * @returns {number} milliseconds
 */
export function agentIdleMs(env) {
  const v = env['LABRIG_AGENT_IDLE'];
  if (v === undefined || v === '') return 10 * 60_000;
  const m = /^\s*(\d+)\s*(ms|s|m|h)\s*$/.exec(v);
  if (!m) throw new Error(`LABRIG_AGENT_IDLE=${JSON.stringify(v)}: expected a duration such as 30s, 10m or 1h`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[/** @type {'ms'|'s'|'m'|'h'} */ (m[2])];
}

