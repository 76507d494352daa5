/**
 * What the laptop reads of a coordinator over SSH: its lock (alive, stale or none, judged on the
 * host by pid, boot id and program name), its own journal, and the plan journal of its result
 * store, read from a byte offset so following a sweep costs one small exec per poll.
 */
import type { Remote } from '@labrig/core';
import { quoteArg } from '@labrig/core';
import { parseJsonLines, type PlanEvent } from '../store/run-store.js';
import { coordinatorDir, EARLIER_PROGRAM_PREFIX, PROGRAM_PREFIX, type CoordinatorEvent } from './spec.js';

export interface CoordinatorProbe {
  /** The folder exists on the host (something was handed over once). */
  exists: boolean;
  /** Lock holder pid, when there is a lock. */
  pid?: number;
  /** The lock holder is a live coordinator of this boot. */
  alive: boolean;
  /** The coordinator's own journal (whole: it is a few lines per start). */
  events: CoordinatorEvent[];
  /** New complete lines of the plan journal since `offset`, and the offset after them. */
  planEvents: PlanEvent[];
  offset: number;
  /** Free KiB in the login home (for the pre-flight check). */
  freeKiB?: number;
  /** The live coordinator's node and program (its argv[0] and argv[1]): what runs its link bridge. */
  program?: { node: string; file: string };
  /** The link token in its folder (readable by this user only). */
  token?: string;
}

const SEP = '@@labrig-coordinator-probe@@';

/** One exec: lock, the coordinator journal, plan journal bytes from `offset`. */
export async function probeCoordinator(remote: Remote, plan: string, o: { offset?: number; signal?: AbortSignal } = {}): Promise<CoordinatorProbe> {
  const offset = o.offset ?? 0;
  const script = [
    `free=$(df -Pk "$HOME" 2>/dev/null | awk 'NR==2 {print $4}')`,
    `echo "free \${free:-unknown}"`,
    `cd ${quoteArg(coordinatorDir(plan))} 2>/dev/null || { echo absent; exit 0; }`,
    'boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)',
    'pid=; lb=',
    `if [ -f lock ]; then pid=$(sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p' lock); lb=$(sed -n 's/.*"bootId":"\\([^"]*\\)".*/\\1/p' lock); fi`,
    'alive=n',
    // node <program> coordinator ...: argv[1] is the program (a shell whose script names it is not
    // it), in its coordinator mode (the same program is the local agent); or an earlier labrig's
    // coordinator program (no mode).
    `if [ -n "$pid" ] && [ "$lb" = "$boot" ] && [ -r "/proc/$pid/cmdline" ]; then`,
    `  a1=$(tr '\\000' '\\n' < "/proc/$pid/cmdline" | sed -n 2p); a2=$(tr '\\000' '\\n' < "/proc/$pid/cmdline" | sed -n 3p); is=n`,
    `  case "\${a1##*/}" in ${PROGRAM_PREFIX}*.cjs) [ "$a2" = coordinator ] && is=y ;; ${EARLIER_PROGRAM_PREFIX}*.cjs) is=y ;; esac`,
    `  st=$(sed -n 's/^[0-9]* (.*) \\(.\\) .*/\\1/p' "/proc/$pid/stat" 2>/dev/null); [ "$is" = y ] && [ -n "$st" ] && [ "$st" != Z ] && alive=y`,
    'fi',
    'echo "lock ${pid:-none} $alive"',
    `if [ "$alive" = y ]; then printf 'prog %s\\t%s\\n' "$(tr '\\000' '\\n' < "/proc/$pid/cmdline" | sed -n 1p)" "$(tr '\\000' '\\n' < "/proc/$pid/cmdline" | sed -n 2p)"; [ -r token ] && echo "token $(cat token)"; fi`,
    `echo ${SEP}`,
    'cat coordinator.jsonl 2>/dev/null',
    `echo ${SEP}`,
    `tail -c +${offset + 1} ${quoteArg(`results/${plan}/journal.jsonl`)} 2>/dev/null`,
    'exit 0',
  ].join('\n');
  const out = (await remote.shell(script, o.signal ? { signal: o.signal } : {})).stdout;
  const [head = '', coordText = '', planText = ''] = out.split(`${SEP}\n`);
  const free = /^free (\d+)/m.exec(head)?.[1];
  const probe: CoordinatorProbe = { exists: !/^absent$/m.test(head), alive: false, events: [], planEvents: [], offset, ...(free ? { freeKiB: Number(free) } : {}) };
  const lock = /^lock (\S+) ([yn])$/m.exec(head);
  if (lock) {
    if (lock[1] !== 'none') probe.pid = Number(lock[1]);
    probe.alive = lock[2] === 'y';
  }
  const prog = /^prog ([^\t\n]+)\t([^\n]+)$/m.exec(head);
  if (prog) probe.program = { node: prog[1]!, file: prog[2]! };
  const token = /^token ([0-9a-f]+)$/m.exec(head)?.[1];
  if (token) probe.token = token;
  probe.events = parseJsonLines<CoordinatorEvent>(coordText);
  // Only complete lines: a line being written is read again next time.
  const end = planText.lastIndexOf('\n');
  if (end >= 0) {
    const complete = planText.slice(0, end + 1);
    probe.planEvents = parseJsonLines<PlanEvent>(complete);
    probe.offset = offset + Buffer.byteLength(complete);
  }
  return probe;
}

/** The newest `start` of the coordinator journal and what followed it: its end, error, and newest expiry decision. */
export function lastStart(events: readonly CoordinatorEvent[]): {
  start?: Extract<CoordinatorEvent, { type: 'start' }>;
  end?: Extract<CoordinatorEvent, { type: 'end' }>;
  error?: string;
  expiry?: Extract<CoordinatorEvent, { type: 'expiry' }>;
} {
  let i = -1;
  events.forEach((e, j) => e.type === 'start' && (i = j));
  if (i < 0) return {};
  const after = events.slice(i + 1);
  const end = after.find((e): e is Extract<CoordinatorEvent, { type: 'end' }> => e.type === 'end');
  const error = after.find((e): e is Extract<CoordinatorEvent, { type: 'error' }> => e.type === 'error')?.message;
  const expiry = after.filter((e): e is Extract<CoordinatorEvent, { type: 'expiry' }> => e.type === 'expiry').at(-1);
  return { start: events[i] as Extract<CoordinatorEvent, { type: 'start' }>, ...(end ? { end } : {}), ...(error ? { error } : {}), ...(expiry ? { expiry } : {}) };
}
