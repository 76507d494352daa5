/**
 * The labrig agent: one background process per workspace and user that runs labrig commands for
 * thin clients (labrig-run, and every Nx target through @labrig/runner:run) and keeps between
 * them what a command otherwise pays again: the executor bundles it imported, and the SSH
 * connections (pools shared by identical settings and code: @labrig/ssh shared.ts).
 *
 *   node labrig-engine-<sha>.cjs agent <workspace root> --idle=<ms>
 *
 * Life cycle (docs/architecture.md, The agent): started by the first client that finds none;
 * holds `.labrig/agent/agent.pid` (one agent per workspace); listens on `.labrig/agent/agent.sock`
 * (folder 0700, a fresh token in `token`, 0600, that clients must present); exits after `idle`
 * without a command, when the workspace is gone, on SIGTERM, or when a client of another program
 * (the workspace's code changed) says hello: it then refuses new commands, lets the running ones
 * end, and exits. Its journal is `.labrig/agent/agent.jsonl`: start, each command's start and end
 * (executor, project, status; never options or environment), connections lost or dropped, exit.
 *
 * Each command runs in its own command scope (@labrig/core scope.ts): its environment, working
 * folder, terminal facts, output (redacted with the command's own secrets before it leaves), its
 * interrupt signal (the client's Ctrl-C stops this command only) and its secret registry, all
 * dropped when it ends.
 */
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { isProcessAlive, outsideScope, receiveInterrupt, redactWrites, runInScope, type CommandScope, type PatchableStream, type ScopeStream } from '@labrig/core';
import { enableSharedPools, type SharedPools } from '@labrig/ssh';
import { executorAllowsAgent, runFromBundle } from '@labrig/runner/launch';
import { agentPaths } from '@labrig/runner/link';
import { cachedProgram, PROGRAM_PREFIX } from '@labrig/runner/program';
import { installCommandHost } from './host.js';
import { ensurePrivateDir, serveLink, type Frame, type LinkRequest } from '../link-server.js';

export interface AgentOptions {
  root: string;
  idleMs: number;
  /** sha256 of the program file running this agent. */
  program: string;
}

/** Resident size above which the agent retires after a command (a new one starts on the next). */
const MAX_RSS = 1.5 * 2 ** 30;

/** How long a stopped command may take to end before its client is answered anyway. */
const GRACE_MS = 10_000;

interface RunFrame extends Frame {
  ref: string;
  project: string;
  projectRoot: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  tty?: { stdout?: Partial<ScopeStream>; stderr?: Partial<ScopeStream> };
}

function isRunFrame(f: Frame): f is RunFrame {
  return (
    typeof f['ref'] === 'string' &&
    typeof f['project'] === 'string' &&
    typeof f['projectRoot'] === 'string' &&
    Array.isArray(f['argv']) &&
    (f['argv'] as unknown[]).every((x) => typeof x === 'string') &&
    typeof f['env'] === 'object' &&
    f['env'] !== null &&
    typeof f['cwd'] === 'string'
  );
}

/** Whether `pid` runs a labrig engine program (not a reused pid). */
function isEngine(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return (argv[1]?.split('/').pop() ?? '').startsWith(PROGRAM_PREFIX);
  } catch {
    return true; // no /proc: trust the pid
  }
}

/** Take `.labrig/agent/agent.pid`; false when another live agent holds it. */
function takePidFile(file: string, program: string): boolean {
  for (let i = 0; i < 3; i++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, program, started: new Date().toISOString() }));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let pid = 0;
      try {
        pid = Number(JSON.parse(readFileSync(file, 'utf8')).pid);
      } catch {
        /* half-written: a starting agent; treated as stale after a moment */
      }
      if (pid && pid !== process.pid && isEngine(pid)) return false;
      try {
        unlinkSync(file);
      } catch {
        /* another starter removed it */
      }
    }
  }
  return false;
}

function releasePidFile(file: string): void {
  try {
    if (Number(JSON.parse(readFileSync(file, 'utf8')).pid) === process.pid) unlinkSync(file);
  } catch {
    /* gone */
  }
}

/** Run the agent until it exits; resolves to the exit status. */
export async function runAgent(o: AgentOptions): Promise<number> {
  const paths = agentPaths(o.root);
  ensurePrivateDir(paths.dir);
  const journal = (e: Record<string, unknown>): void => {
    try {
      appendFileSync(paths.journal, `${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`, { mode: 0o600 });
    } catch {
      /* the workspace is gone: the idle check ends the agent */
    }
  };
  if (!takePidFile(paths.pid, o.program)) {
    console.error(`labrig agent: another agent runs for ${o.root}; this one exits`);
    return 3;
  }
  installCommandHost();
  const pools: SharedPools = enableSharedPools((e) => journal({ event: e.type, pool: e.pool, ...('host' in e ? { host: e.host, address: e.address } : { hosts: e.hosts, reason: e.reason }) }));
  process.on('unhandledRejection', (e) => console.error('labrig agent: unhandled rejection:', e));
  process.on('uncaughtException', (e) => console.error('labrig agent: uncaught exception:', e));

  const running = new Map<string, { scope: CommandScope; stop: (sig: NodeJS.Signals) => void }>();
  let seq = 0;
  let lastActivity = Date.now();
  let retiring: string | undefined;
  let exiting = false;

  const shutdown = async (reason: string): Promise<void> => {
    if (exiting) return;
    exiting = true;
    journal({ event: 'exit', pid: process.pid, reason, commands: seq });
    await link.close().catch(() => undefined);
    releasePidFile(paths.pid);
    await pools.closeAll().catch(() => undefined);
    process.exit(0);
  };
  const retire = (why: string): void => {
    if (retiring) return;
    retiring = why;
    journal({ event: 'retire', reason: why });
    // Free the socket and the pid file at once, so the client can start the new agent now.
    void link.close().catch(() => undefined);
    releasePidFile(paths.pid);
    if (running.size === 0) void shutdown(why);
  };

  const run = (req: LinkRequest, f: RunFrame): void => {
    const id = `c${++seq}`;
    const started = Date.now();
    let answered = false;
    let detached = false; // answered before the command ended: its later output is dropped
    // The native client asks for binary frames (1 byte kind, 4 bytes length, payload: lib/link.mjs).
    const raw = f['raw'] === true;
    const sendOut =
      (fd: 1 | 2) =>
      (chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
        if (typeof encoding === 'function') cb = encoding;
        if (!detached) {
          if (raw) {
            const buf = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8') : Buffer.from(chunk as Uint8Array);
            req.sendRaw(rawFrame(fd, buf));
          } else if (typeof chunk === 'string' && (typeof encoding !== 'string' || /^utf-?8$/i.test(encoding))) req.send({ t: 'out', fd, s: chunk });
          else {
            const buf = typeof chunk === 'string' ? Buffer.from(chunk, encoding as BufferEncoding) : Buffer.from(chunk as Uint8Array);
            req.send({ t: 'out', fd, b: buf.toString('base64') });
          }
        }
        if (typeof cb === 'function') process.nextTick(cb as () => void);
        return true;
      };
    const tty = (t: Partial<ScopeStream> | undefined, write: ScopeStream['write']): ScopeStream => ({
      write,
      isTTY: t?.isTTY === true,
      ...(typeof t?.columns === 'number' ? { columns: t.columns } : {}),
      ...(typeof t?.rows === 'number' ? { rows: t.rows } : {}),
    });
    const env = f.env;
    f.env = {}; // the scope holds the only copy, dropped when the command ends
    const scope: CommandScope = {
      id,
      env,
      cwd: f.cwd,
      stdout: tty(f.tty?.stdout, sendOut(1)),
      stderr: tty(f.tty?.stderr, sendOut(2)),
      interrupt: { ctl: new AbortController(), installed: true },
    };
    const answer = (code: number): void => {
      if (answered) return;
      answered = true;
      scope.flushOutput?.();
      if (raw) {
        const b = Buffer.alloc(4);
        b.writeInt32BE(code);
        req.sendRaw(rawFrame(3, b));
      } else req.send({ t: 'exit', code });
      req.end();
    };
    let grace: NodeJS.Timeout | undefined;
    // The client's Ctrl-C, by the same rules as a process's (core interrupt.ts); "exiting" answers
    // the client now, and the command goes on stopping here.
    const stop = (sig: NodeJS.Signals): void => {
      grace ??= receiveInterrupt(scope.interrupt, sig, {
        write: (text) => void runInScope(scope, () => process.stderr.write(text)),
        exit: (code) => {
          answer(code);
          detached = true;
        },
        graceMs: GRACE_MS,
      });
    };
    req.onFrame((g) => {
      if (g.t === 'signal' && typeof g['signal'] === 'string' && ['SIGINT', 'SIGTERM', 'SIGHUP'].includes(g['signal'])) stop(g['signal'] as NodeJS.Signals);
    });
    // The client went away (its terminal closed, it was killed): as SIGHUP for a command of its own.
    req.onClose(() => {
      if (!answered) {
        detached = true;
        stop('SIGHUP');
      }
    });
    running.set(id, { scope, stop });
    journal({ event: 'command-start', id, ref: f.ref, project: f.project });
    const done = (code: number): void => {
      if (grace) clearTimeout(grace);
      const answeredEarly = detached; // its client was answered (or went away) before it ended
      answer(code);
      detached = true;
      // What the command leaves running (a keep-alive socket, a child process) keeps its scope as
      // its async context: empty it, so no environment or secret of the command outlives it.
      scope.env = {};
      delete scope.secrets;
      running.delete(id);
      lastActivity = Date.now();
      journal({ event: 'command-end', id, ref: f.ref, project: f.project, code, ms: Date.now() - started, ...(answeredEarly ? { detached: true } : {}) });
      // Each rebuilt executor bundle stays loaded: an agent grown big is replaced by the next command.
      if (!retiring && process.memoryUsage().rss > MAX_RSS) retire(`memory: ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB resident`);
      if (retiring && running.size === 0) void shutdown(retiring);
    };
    void runInScope(scope, async () => {
      // The command's own output redaction: its secrets, its streams (core output.ts).
      const red = redactWrites([scope.stdout as PatchableStream, scope.stderr as PatchableStream]);
      scope.flushOutput = red.flush;
      try {
        // Outside the command's scope: esbuild's service process, started by the first build, lives on.
        return await runFromBundle({ root: o.root, ref: f.ref, project: f.project, projectRoot: f.projectRoot, argv: f.argv }, outsideScope);
      } finally {
        red.flush();
      }
    }).then(done, (err: unknown) => {
      runInScope(scope, () => process.stderr.write(`✖ labrig agent: ${(err as Error)?.stack ?? String(err)}\n`));
      done(1);
    });
  };

  const link = await serveLink({
    socket: paths.socket,
    tokenFile: paths.token,
    role: 'agent',
    program: o.program,
    onOtherProgram: () => retire('a client of another program (the workspace changed)'),
    currentProgram: () => cachedProgram(o.root)?.sha256,
    refusing: () => retiring,
    handle(req) {
      lastActivity = Date.now();
      const f = req.frame;
      if (f.t === 'run') {
        if (!isRunFrame(f)) {
          req.send({ t: 'refuse', code: 'protocol', message: 'a run frame needs ref, project, projectRoot, argv, env and cwd' });
          return req.end();
        }
        if (executorAllowsAgent(o.root, f.ref) === false) {
          // An executor that runs in its own process (`"x-labrig-agent": false`): the client runs it.
          const refusal = { t: 'refuse', code: 'in-process', message: `${f.ref} runs in the command's own process` };
          if (f['raw'] === true) req.sendRaw(rawFrame(4, Buffer.from(JSON.stringify(refusal))));
          else req.send(refusal);
          return req.end();
        }
        return run(req, f);
      }
      if (f.t === 'status') {
        req.send({ t: 'status', role: 'agent', pid: process.pid, program: o.program, root: o.root, idleMs: o.idleMs, commands: seq, running: running.size, pools: pools.list().map((p) => ({ knownHostsFile: p.knownHostsFile, leases: p.leases, ...p.stats })) });
        return req.end();
      }
      if (f.t === 'heap-snapshot' && process.env['LABRIG_AGENT_DEBUG']) {
        // For the spec that checks no secret outlives its command (only with LABRIG_AGENT_DEBUG set
        // when the agent started): a full GC, then what the agent still holds.
        const file = writeHeapSnapshot(join(paths.dir, `agent-${process.pid}-${Date.now()}.heapsnapshot`));
        req.send({ t: 'heap-snapshot', file });
        return req.end();
      }
      if (f.t === 'stop') {
        req.send({ t: 'stopping', mode: 'when-idle' });
        req.end();
        return retire('asked to stop');
      }
      req.send({ t: 'refuse', code: 'protocol', message: `unknown request ${f.t}` });
      req.end();
    },
  });
  journal({ event: 'start', pid: process.pid, program: o.program, idleMs: o.idleMs, socket: paths.socket });
  process.on('SIGTERM', () => {
    for (const c of running.values()) c.stop('SIGTERM');
    retire('SIGTERM');
  });
  setInterval(() => {
    if (!existsSync(join(o.root, 'nx.json'))) void shutdown('the workspace is gone');
    else if (running.size === 0 && Date.now() - lastActivity >= o.idleMs) void shutdown(`idle for ${Math.round(o.idleMs / 1000)} s`);
    // A platform no command used for the idle time: its connections are closed (the agent stays for the others).
    else void pools.closeIdle(o.idleMs).then((n) => n && journal({ event: 'pools-closed', count: n, reason: 'idle' }));
  }, Math.min(5000, Math.max(200, Math.floor(o.idleMs / 4)))).unref();
  // Keep the process alive while listening (the interval is unref'd so shutdown is never held up).
  return new Promise<number>(() => undefined);
}

/** A binary frame for the native client: kind, length (big-endian), payload. */
function rawFrame(kind: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(kind, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}
