/**
 * One run on one host, detached from labrig: the task's command runs in its own session on the
 * host (setsid), writing stdout/stderr into the run's folder there; when it ends, the host writes
 * SHA256SUMS of stdout, stderr and the collected files, then `exit` (its status). Killing labrig
 * (Ctrl-C, kill -9, a dropped SSH connection) does not stop a run: the next labrig finds it by its
 * folder and waits for it or collects it. Secrets reach the process through the environment of
 * the starting shell (its script comes on stdin), never through a file or an argv. The command
 * runs from the login folder, like every other labrig command on a host.
 */
import type { Remote } from '@labrig/core';
import { quote, quoteArg } from '@labrig/core';

/** The run's folder on a host, relative to the login home. */
export function remoteRunDir(plan: string, run: string, attempt: number): string {
  return `.labrig/experiments/${plan}/${run}/attempt-${attempt}`;
}

export interface StartOptions {
  dir: string;
  argv: readonly string[];
  env?: Record<string, string>;
  /** Globs relative to the run folder (validated by the plan schema: no quotes, spaces or $). */
  collect: readonly string[];
  /**
   * The result store starting the run (its store id). A folder on the host that another store
   * started (a store deleted and made again, a coordinator's store) is not this run: it is moved
   * aside (`attempt-<n>.other-<time>`) and the run starts fresh.
   */
  owner?: string;
  signal?: AbortSignal;
}

const SAFE_GLOB = /^[A-Za-z0-9_.*?-][A-Za-z0-9_.*?/-]*$/;

/** The script the detached session runs ($0 = absolute run folder, $1 = the login folder it runs from). */
export function detachedScript(argv: readonly string[], collect: readonly string[]): string {
  for (const g of collect) if (!SAFE_GLOB.test(g)) throw new Error(`unsafe collect pattern ${JSON.stringify(g)}`);
  const files = ['stdout', 'stderr', ...collect].join(' ');
  return [
    'echo $$ > "$0/pid"',
    `cd "$1" && ${quote(argv)} > "$0/stdout" 2> "$0/stderr" < /dev/null`,
    'code=$?',
    'cd "$0" || exit 1',
    `{ for f in ${files}; do if [ -f "$f" ]; then sha256sum "$f"; else echo "MISSING $f"; fi; done; } > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS`,
    'echo "$code" > exit.tmp && mv exit.tmp exit',
  ].join('\n');
}

/** Start the run on the host unless its folder shows it started already. Returns whether it started now. */
export async function startRemoteRun(remote: Remote, o: StartOptions): Promise<boolean> {
  const script = [
    `d=${quoteArg(o.dir)}`,
    'base=$(pwd)',
    ...(o.owner
      ? [
          `o=${quoteArg(o.owner)}`,
          'if [ -d "$d" ] && { [ -e "$d/pid" ] || [ -e "$d/exit" ]; } && [ "$(cat "$d/owner" 2>/dev/null)" != "$o" ]; then mv "$d" "$d.other-$(date +%s)-$$" || exit 3; fi',
        ]
      : []),
    'mkdir -p "$d" && cd "$d" || exit 3',
    'if [ -e pid ] || [ -e exit ]; then echo already-started; exit 0; fi',
    ...(o.owner ? ['printf \'%s\\n\' "$o" > owner'] : []),
    ...Object.entries(o.env ?? {}).map(([k, v]) => `export ${k}=${quoteArg(v)}`),
    `setsid sh -c ${quoteArg(detachedScript(o.argv, o.collect))} "$PWD" "$base" > /dev/null 2>&1 < /dev/null &`,
    // The pid file appears at once; waiting for it means a later status check never sees a run
    // that started but has no pid yet.
    'i=0; while [ ! -e pid ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done',
    'echo started',
  ].join('\n');
  const r = await remote.exec(['sh', '-s'], { stdin: `${script}\n`, ...(o.signal ? { signal: o.signal } : {}) });
  return r.stdout.trim().endsWith('started') && !r.stdout.includes('already-started');
}

export type RemoteRunState =
  | { state: 'missing' }
  | { state: 'running'; pid: number }
  | { state: 'exited'; exitCode: number }
  /** Started, no exit status, and its process is gone (killed with the host, or by hand). */
  | { state: 'died' };

/** What the run's folder on the host says (`owner`: a folder another store started is `missing`). */
export async function remoteRunState(remote: Remote, dir: string, signal?: AbortSignal, owner?: string): Promise<RemoteRunState> {
  const script = [
    `cd ${quoteArg(dir)} 2>/dev/null || { echo missing; exit 0; }`,
    ...(owner ? [`if [ "$(cat owner 2>/dev/null)" != ${quoteArg(owner)} ]; then echo missing; exit 0; fi`] : []),
    'if [ -e exit ]; then echo "exit $(cat exit)"; exit 0; fi',
    'if [ ! -e pid ]; then echo missing; exit 0; fi',
    // Alive = exists and is not a zombie (an orphan whose init does not reap still answers kill -0).
    'p=$(cat pid)',
    'if [ -r "/proc/$p/stat" ]; then st=$(sed -n \'s/^[0-9]* (.*) \\(.\\) .*/\\1/p\' "/proc/$p/stat"); alive=$([ -n "$st" ] && [ "$st" != Z ] && echo y); else alive=$(kill -0 "$p" 2>/dev/null && echo y); fi',
    'if [ "$alive" = y ]; then echo "running $p"; elif [ -e exit ]; then echo "exit $(cat exit)"; else echo died; fi',
  ].join('\n');
  const out = (await remote.exec(['sh', '-c', script], signal ? { signal } : {})).stdout.trim();
  const [word, arg] = out.split(/\s+/);
  if (word === 'exit') return { state: 'exited', exitCode: Number(arg) };
  if (word === 'running') return { state: 'running', pid: Number(arg) };
  if (word === 'died') return { state: 'died' };
  return { state: 'missing' };
}

/**
 * Wait until the run exits or dies, polling every `pollMs`, at most `timeoutMs` (then the whole
 * process group is killed and `timeout` returned).
 */
export async function waitRemoteRun(
  remote: Remote,
  dir: string,
  o: { timeoutMs: number; pollMs?: number; signal?: AbortSignal; owner?: string },
): Promise<RemoteRunState | { state: 'timeout' }> {
  const deadline = Date.now() + o.timeoutMs;
  const poll = o.pollMs ?? 200;
  for (;;) {
    const s = await remoteRunState(remote, dir, o.signal, o.owner);
    if (s.state !== 'running') return s;
    if (Date.now() >= deadline) {
      await remote.exec(['sh', '-c', `kill -TERM -${s.pid} 2>/dev/null; sleep 1; kill -KILL -${s.pid} 2>/dev/null; true`], { allowFailure: true });
      return { state: 'timeout' };
    }
    await new Promise((r) => setTimeout(r, Math.min(poll, Math.max(0, deadline - Date.now()))));
    o.signal?.throwIfAborted();
  }
}
