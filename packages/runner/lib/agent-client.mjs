// @ts-check
/**
 * The thin client of the labrig agent: sends one command (executor, options, environment, working
 * folder, terminal facts) over the agent's unix socket, writes the output it streams back, passes
 * Ctrl-C (SIGINT, SIGTERM, SIGHUP) on as a stop of this command only, and returns the exit status.
 *
 * The agent is started here when none answers (detached, with a minimal environment: a command's
 * environment reaches the agent only inside that command, docs/architecture.md). An agent built
 * from other code answers `refuse: program` and retires; a new one is started. Whatever keeps the
 * agent from being used (it cannot start, its folder is not ours, the socket path is refused)
 * makes this return undefined and the command runs in this process as without an agent: a dead
 * or killed agent costs one cold start, never an error. Only an agent that ends *during* a
 * command fails that command (what it did on the hosts is in its run journal; run it again).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { constants } from 'node:os';
import { agentIdleMs, agentPaths, frameWriter, LINK_PROTOCOL, readFrames } from './link.mjs';
import { buildProgram } from './program.mjs';

/** How long a starting agent may take to answer. */
const START_TIMEOUT_MS = 15_000;
/** How long a running agent may take to answer a hello (a stopped or stuck one: the command runs here). */
const HELLO_TIMEOUT_MS = 5_000;

/** Environment the agent process itself gets: nothing of a command (secrets stay per command). */
const AGENT_ENV_KEYS = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'NODE_OPTIONS', 'LABRIG_AGENT_DEBUG'];

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Connect and say hello; resolves to the socket after `welcome`, or to the refusal.
 * @param {string} socketPath
 * @param {string} token
 * @param {string} program
 * @returns {Promise<{ socket: import('node:net').Socket, welcome: Record<string, any>, frames: Record<string, any>[], wait: () => Promise<Record<string, any> | undefined> } | { refused: Record<string, any> } | { error: NodeJS.ErrnoException }>}
 */
function hello(socketPath, token, program) {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    /** @type {Record<string, any>[]} */
    const frames = [];
    /** @type {((f: Record<string, any> | undefined) => void) | undefined} */
    let waiter;
    let ended = false;
    let greeted = false;
    readFrames(socket, (f) => {
      if (!greeted) {
        greeted = true;
        clearTimeout(timer);
        if (f.t === 'welcome') resolve({ socket, welcome: f, frames, wait });
        else {
          socket.destroy();
          resolve({ refused: f });
        }
        return;
      }
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w(f);
      } else frames.push(f);
    });
    const wait = () =>
      new Promise((r) => {
        if (frames.length) return r(frames.shift());
        if (ended) return r(undefined);
        waiter = r;
      });
    socket.on('error', (err) => {
      if (!greeted) {
        greeted = true;
        resolve({ error: err });
      }
    });
    const timer = setTimeout(() => {
      if (!greeted) {
        greeted = true;
        socket.destroy();
        process.stderr.write(`labrig-run: the labrig agent did not answer within ${HELLO_TIMEOUT_MS / 1000} s (stopped or stuck?); this command runs in its own process\n`);
        resolve({ refused: { t: 'refuse', code: 'timeout', message: `no answer within ${HELLO_TIMEOUT_MS / 1000} s` } });
      }
    }, HELLO_TIMEOUT_MS);
    socket.on('close', () => {
      clearTimeout(timer);
      ended = true;
      if (!greeted) {
        greeted = true;
        resolve({ error: Object.assign(new Error('the agent closed the connection before answering'), { code: 'ECONNRESET' }) });
      }
      const w = waiter;
      waiter = undefined;
      w?.(undefined);
    });
    socket.once('connect', () => frameWriter(socket)({ t: 'hello', protocol: LINK_PROTOCOL, token, program }));
  });
}

/**
 * Start an agent for `root` (detached; it exits after its idle time).
 * @param {string} root
 * @param {string} programFile
 */
function startAgent(root, programFile) {
  const p = agentPaths(root);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  const log = openSync(p.log, 'a', 0o600);
  /** @type {Record<string, string>} */
  const env = {};
  for (const k of AGENT_ENV_KEYS) if (process.env[k] !== undefined) env[k] = /** @type {string} */ (process.env[k]);
  try {
    const child = spawn(process.execPath, [programFile, 'agent', root, `--idle=${agentIdleMs(process.env)}`], {
      cwd: root,
      detached: true,
      stdio: ['ignore', log, log],
      env,
    });
    child.on('error', () => undefined);
    child.unref();
  } finally {
    closeSync(log);
  }
}

/**
 * @param {string} root
 * @param {string} program
 * @param {string} programFile
 * @returns {Promise<{ socket: import('node:net').Socket, welcome: Record<string, any>, wait: () => Promise<Record<string, any> | undefined> } | undefined>}
 */
async function reachAgent(root, program, programFile) {
  const p = agentPaths(root);
  const deadline = Date.now() + START_TIMEOUT_MS;
  let started = false;
  for (;;) {
    let token = '';
    try {
      token = readFileSync(p.token, 'utf8').trim();
    } catch {
      /* no agent yet (or not ours): start one */
    }
    if (token) {
      const r = await hello(p.socket, token, program);
      if ('socket' in r) return r;
      if ('refused' in r && r.refused.code !== 'program' && r.refused.code !== 'retiring' && r.refused.code !== 'token') return undefined;
    }
    if (Date.now() > deadline) return undefined;
    if (!started) {
      startAgent(root, programFile);
      started = true;
    }
    await sleep(20);
  }
}

/**
 * @typedef {object} AgentCommand
 * @property {string} root
 * @property {string} ref
 * @property {string} project
 * @property {string} projectRoot
 * @property {readonly string[]} argv
 */

/**
 * Run the command in the agent. Resolves to its exit status, or undefined when the agent cannot
 * be used (then the caller runs it in this process).
 * @param {AgentCommand} a
 * @returns {Promise<number | undefined>}
 */
export async function runInAgent(a) {
  let link;
  try {
    const program = await buildProgram(a.root);
    link = await reachAgent(a.root, program.sha256, program.file);
  } catch (err) {
    if (process.env['LABRIG_AGENT_DEBUG']) process.stderr.write(`labrig-run: agent not used: ${/** @type {Error} */ (err).message}\n`);
    return undefined;
  }
  if (!link) return undefined;
  const { socket, welcome, wait } = link;
  const send = frameWriter(socket);
  /** @param {NodeJS.WriteStream} s */
  const tty = (s) => ({ isTTY: s.isTTY === true, ...(s.columns ? { columns: s.columns } : {}), ...(s.rows ? { rows: s.rows } : {}) });
  /** @type {Record<string, string>} */
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  send({ t: 'run', ref: a.ref, project: a.project, projectRoot: a.projectRoot, argv: [...a.argv], env, cwd: process.cwd(), tty: { stdout: tty(process.stdout), stderr: tty(process.stderr) } });

  /** @type {NodeJS.Signals | undefined} */
  let first;
  let firstAt = 0;
  /** @param {NodeJS.Signals} sig */
  const onSignal = (sig) => {
    if (first && sig !== 'SIGHUP' && Date.now() - firstAt > 1000) process.exit(128 + (constants.signals[first] ?? 2));
    if (!first) {
      first = sig;
      firstAt = Date.now();
    }
    try {
      send({ t: 'signal', signal: sig });
    } catch {
      /* the agent is gone: the close below ends this */
    }
  };
  /** @type {Array<[NodeJS.Signals, () => void]>} */
  const handlers = ['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => [/** @type {NodeJS.Signals} */ (s), () => onSignal(/** @type {NodeJS.Signals} */ (s))]);
  for (const [s, h] of handlers) process.on(s, h);
  try {
    for (;;) {
      const f = await wait();
      if (!f) {
        process.stderr.write(`✖ labrig-run: the labrig agent (pid ${welcome.pid}) ended during this command; what ran on the hosts is in the run's journal (.labrig/runs/)\n`);
        process.stderr.write(`  hint: run the command again (a new agent starts), or with LABRIG_AGENT=off to run it in this process; the agent's log is ${agentPaths(a.root).log}\n`);
        return 1;
      }
      if (f.t === 'out') {
        const data = typeof f.s === 'string' ? f.s : Buffer.from(String(f.b ?? ''), 'base64');
        (f.fd === 2 ? process.stderr : process.stdout).write(data);
      } else if (f.t === 'exit') {
        return typeof f.code === 'number' ? f.code : 1;
      }
    }
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    socket.destroy();
  }
}
