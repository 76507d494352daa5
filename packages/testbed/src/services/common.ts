/**
 * Shared plumbing for the testbed's on-demand services: detached processes with pid files,
 * readiness probes with timeouts, free ports, PATH lookups with install hints.
 *
 * Layout: every service `<name>` keeps everything in `<dir>/services/<name>/`:
 * `<proc>.pid` (one per process), `<proc>.log` (stdout+stderr), `service.json` (the info
 * returned to callers, reused when the service is already running).
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants, openSync, closeSync, readFileSync } from 'node:fs';
import { access, mkdir, readFile, readdir, rename, writeFile, open } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { LabrigError } from '@labrig/core';

/** A service of the testbed failed. The hint says what to do (by default: where its log is). */
export class ServiceError extends LabrigError {
  readonly code = 'SERVICE';
  constructor(
    message: string,
    readonly service: string,
    hint?: string,
    opts: { cause?: unknown } = {},
  ) {
    super(message, {
      hint: hint ?? `Its log is in <testbed dir>/services/${service}/; \`tools/testbed status\` shows whether it runs.`,
      cause: opts.cause,
    });
  }
}

export function serviceDir(dir: string, name: string): string {
  return path.join(dir, 'services', name);
}

/** The files of a service run by one process `proc` (see the layout above), and its `data/` folder. */
export interface ProcessServicePaths {
  root: string;
  data: string;
  pid: string;
  log: string;
  state: string;
  /** What the command line of the live process contains (see livePid). Default: the data folder. */
  marker: string;
}

export function processServicePaths(dir: string, service: string, proc: string): ProcessServicePaths {
  const root = path.resolve(serviceDir(dir, service));
  const data = path.join(root, 'data');
  return {
    root,
    data,
    pid: path.join(root, `${proc}.pid`),
    log: path.join(root, `${proc}.log`),
    state: path.join(root, 'service.json'),
    marker: data,
  };
}

export async function ensureDir(p: string, mode = 0o755): Promise<void> {
  await mkdir(p, { recursive: true, mode });
}

/** Find an executable in PATH (or the given absolute/relative path); undefined when absent. */
export async function which(bin: string): Promise<string | undefined> {
  if (bin.includes('/')) {
    try {
      await access(bin, fsConstants.X_OK);
      return bin;
    } catch {
      return undefined;
    }
  }
  for (const d of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (!d) continue;
    const p = path.join(d, bin);
    try {
      await access(p, fsConstants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  // Daemons live in sbin, which a non-login PATH may lack.
  for (const d of ['/usr/sbin', '/sbin', '/usr/local/sbin']) {
    const p = path.join(d, bin);
    try {
      await access(p, fsConstants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Like `which`, but a missing binary is a ServiceError naming the Debian package to install. */
export async function requireBin(service: string, bin: string, debPackage: string): Promise<string> {
  const p = await which(bin);
  if (!p) {
    throw new ServiceError(
      `${service}: '${bin}' not found in PATH`,
      service,
      `Install the Debian package: apt-get install -y ${debPackage}`,
    );
  }
  return p;
}

/** A TCP port free on 127.0.0.1 right now (bind port 0, read it, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/** The port to listen on: `port` when given (an error when something listens there), else a free one. */
export async function choosePort(service: string, port?: number): Promise<number> {
  if (port === undefined) return freePort();
  if (!(await portIsFree(port))) {
    throw new ServiceError(
      `${service}: port 127.0.0.1:${port} is already in use`,
      service,
      'Pass another port (or none: a free one is picked), or stop what listens there.',
    );
  }
  return port;
}

/** True when nothing listens on host:port (we can bind it). */
export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not reaped yet) is not running; without /proc, trust kill(0).
  const stat = readFileSyncSafe(`/proc/${pid}/stat`);
  if (stat) {
    const i = stat.lastIndexOf(')');
    const state = stat.slice(i + 2, i + 3);
    if (state === 'Z' || state === 'X') return false;
  }
  return true;
}

function readFileSyncSafe(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The command line of a live pid (NUL-separated args joined by spaces), or undefined
 * when /proc is unavailable. Used to make sure a pid file still names *our* process
 * (pids get reused) before trusting it or signalling it.
 */
export async function pidCmdline(pid: number): Promise<string | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

export async function readPidFile(file: string): Promise<number | undefined> {
  try {
    const n = Number.parseInt((await readFile(file, 'utf8')).trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pid from `file` when that process is alive and (if `marker` is given and /proc is
 * readable) its command line contains `marker` — so a recycled pid is never mistaken for ours.
 */
export async function livePid(file: string, marker?: string): Promise<number | undefined> {
  const pid = await readPidFile(file);
  if (pid === undefined || !pidAlive(pid)) return undefined;
  if (marker) {
    const cmd = await pidCmdline(pid);
    if (cmd !== undefined && !cmd.includes(marker)) return undefined;
  }
  return pid;
}

export async function writeFileAtomic(file: string, data: string, mode = 0o644): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, file);
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export interface DetachedProcess {
  pid: number;
  /** Set when the process exited (while we still watch it). */
  exited: () => { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/**
 * Start `bin args` detached (own session/process group, survives our exit), stdout+stderr
 * appended to `logFile`, pid written to `pidFile`.
 */
export async function spawnDetached(opts: {
  bin: string;
  args: string[];
  logFile: string;
  pidFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}): Promise<DetachedProcess> {
  const fd = openSync(opts.logFile, 'a', 0o640);
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  try {
    const child = spawn(opts.bin, opts.args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (e) => reject(e));
      child.once('spawn', () => resolve(child.pid as number));
    });
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
    });
    child.unref();
    await writeFileAtomic(opts.pidFile, `${pid}\n`);
    return { pid, exited: () => exitInfo };
  } finally {
    closeSync(fd);
  }
}

/**
 * What a one-process service recorded (`service.json`) and the pid of its process when that is
 * alive (and still ours: see `marker`). Both undefined when it never ran.
 */
export async function serviceState<T>(p: ProcessServicePaths): Promise<{ saved?: T; pid?: number }> {
  const [saved, pid] = await Promise.all([readJson<T>(p.state), livePid(p.pid, p.marker)]);
  return { saved, pid };
}

/** Whether a one-process service runs, its endpoint (read from what it recorded) and its pid. */
export async function processServiceStatus<T>(
  p: ProcessServicePaths,
  endpoint: (saved: T) => string,
): Promise<{ running: boolean; endpoint?: string; pid?: number }> {
  const { saved, pid } = await serviceState<T>(p);
  return { running: pid !== undefined, endpoint: saved ? endpoint(saved) : undefined, pid };
}

/** Stop a one-process service by its pid file (see stopPidFile). Safe when it is not running. */
export async function stopProcessService(p: ProcessServicePaths): Promise<void> {
  await stopPidFile(p.pid, p.marker);
}

/** Write a service's `service.json` (what its start returns, handed back while it keeps running). */
export async function saveServiceInfo<T>(stateFile: string, info: T): Promise<T> {
  await writeFileAtomic(stateFile, JSON.stringify(info, null, 2) + '\n');
  return info;
}

/**
 * Start one process of a service detached (spawnDetached), then wait until `ready.probe` says it
 * is up (waitFor), failing at once when it exits meanwhile.
 */
export async function startProcess(opts: {
  service: string;
  /** The process as messages name it (`<name> exited (code 1)`). */
  name: string;
  bin: string;
  args: string[];
  logFile: string;
  pidFile: string;
  env?: NodeJS.ProcessEnv;
  ready: {
    what: string;
    timeoutMs: number;
    probe: () => Promise<boolean>;
    /** The log to quote when it does not come up. Default `logFile`. */
    logFile?: string;
  };
}): Promise<DetachedProcess> {
  const { service, name, ready, ...spawn } = opts;
  const proc = await spawnDetached(spawn);
  await waitFor({
    service,
    what: ready.what,
    timeoutMs: ready.timeoutMs,
    logFile: ready.logFile ?? opts.logFile,
    abort: () => exitedMessage(name, proc),
    probe: ready.probe,
  });
  return proc;
}

/** Last `n` lines of a file (for error messages). */
export async function tail(file: string, n = 20): Promise<string> {
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, 16_384);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      return buf.toString('utf8').split('\n').slice(-n - 1).join('\n').trimEnd();
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll `probe` until it returns a value other than undefined/false, or fail after `timeoutMs`.
 * `abort` is checked every round: when it returns a message (e.g. "process exited"), fail at once.
 */
export async function waitFor<T>(opts: {
  what: string;
  service: string;
  timeoutMs: number;
  intervalMs?: number;
  probe: () => Promise<T | undefined | false>;
  abort?: () => Promise<string | undefined> | string | undefined;
  logFile?: string;
}): Promise<T> {
  const start = Date.now();
  let interval = opts.intervalMs ?? 50;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await opts.probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    const why = opts.abort ? await opts.abort() : undefined;
    if (why || Date.now() - start > opts.timeoutMs) {
      const log = opts.logFile ? await tail(opts.logFile) : '';
      throw new ServiceError(
        `${opts.service}: ${why ?? `timed out after ${opts.timeoutMs} ms`} waiting for ${opts.what}` +
          (lastErr ? ` (last probe error: ${(lastErr as Error).message})` : '') +
          (log ? `\n--- ${opts.logFile} (last lines) ---\n${log}` : ''),
        opts.service,
      );
    }
    await delay(interval);
    interval = Math.min(interval * 1.5, 500);
  }
}

/** The exit notice of a watched process, for waitFor's abort. */
export function exitedMessage(name: string, p: DetachedProcess): string | undefined {
  const e = p.exited();
  if (!e) return undefined;
  return `${name} exited (${e.signal ? `signal ${e.signal}` : `code ${e.code}`})`;
}

/** HTTP GET status (or undefined when nothing answers), with a short per-request timeout. */
export async function httpStatus(url: string, method = 'GET', timeoutMs = 2000): Promise<number | undefined> {
  try {
    const res = await fetch(url, { method, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    return res.status;
  } catch {
    return undefined;
  }
}

/**
 * Stop the process named by `pidFile`: SIGTERM (to its process group when it leads one, so
 * children go too), wait up to `graceMs`, then SIGKILL. Never by name. Safe when the pid
 * file is missing or stale. Returns the pid that was stopped, if any.
 */
export async function stopPidFile(pidFile: string, marker?: string, graceMs = 10_000): Promise<number | undefined> {
  const pid = await livePid(pidFile, marker);
  if (pid === undefined) return undefined;
  const signal = (sig: NodeJS.Signals) => {
    // Detached children lead their own process group (pgid == pid): signal the group.
    try {
      process.kill(-pid, sig);
      return;
    } catch {
      /* not a group leader (e.g. a self-daemonized process) */
    }
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pidAlive(pid) && Date.now() < deadline) await delay(50);
  if (pidAlive(pid)) {
    signal('SIGKILL');
    const killDeadline = Date.now() + 5000;
    while (pidAlive(pid) && Date.now() < killDeadline) await delay(50);
  }
  return pid;
}

/** All `*.pid` files in a service folder. */
export async function pidFilesIn(folder: string): Promise<string[]> {
  try {
    return (await readdir(folder)).filter((f) => f.endsWith('.pid')).map((f) => path.join(folder, f));
  } catch {
    return [];
  }
}
