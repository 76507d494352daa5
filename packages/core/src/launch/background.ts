/**
 * The background launcher: long-lived processes on a host started with `setsid` (their own
 * session and process group, detached from the SSH channel), with a pid file, a stamp (what
 * runs) and a log under `~/.labrig/procs/<name>/`. Works on any Remote (SSH or local).
 * Every value reaches the host as an argv element (`sh -c SCRIPT sh ARG…`); the command line
 * itself is built by core's one quoting path.
 */
import type { Launcher, ProcessSpec, ProcessStatus, Remote } from '../contracts.js';
import { formatCommandLine } from '../command-line.js';
import { CommandFailed } from '../errors.js';

export const PROCS_DIR = '.labrig/procs';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function checkName(name: string): string {
  if (!NAME.test(name)) throw new TypeError(`process name ${JSON.stringify(name)}: use letters, digits, '.', '_', '-' (max 64)`);
  return name;
}

/** Prints `running PID` or `stopped`, then the stamp. A zombie counts as stopped. */
const STATUS_SCRIPT = `d="$HOME/${PROCS_DIR}/$1"
pid=$(cat "$d/pid" 2>/dev/null) || pid=
state=
[ -n "$pid" ] && state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
if [ -n "$state" ] && [ "$state" != Z ]; then echo "running $pid"; else echo "stopped $(cat "$d/exit" 2>/dev/null)"; fi
cat "$d/stamp" 2>/dev/null || true`;

/**
 * $1 name, $2 stamp, $3 cwd ('' = home), $4 the command line, $5 the same without its environment
 * (what the log shows: env values may be secrets). A watcher subshell starts the
 * command in the background (its own session through setsid: stop kills the whole group), writes
 * its pid, waits for it and records its exit status, so a process that dies is reported with it.
 */
const START_SCRIPT = `d="$HOME/${PROCS_DIR}/$1"
mkdir -p "$d"
pid=$(cat "$d/pid" 2>/dev/null) || pid=
if [ -n "$pid" ] && [ -e "/proc/$pid" ] && [ "$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f1)" != Z ]; then
  echo "$1 is already running (pid $pid)" >&2; exit 3
fi
rm -f "$d/pid" "$d/exit"
printf '%s' "$2" > "$d/stamp"
printf '\\n=== %s start: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$5" >> "$d/log"
cwd=$3; [ -n "$cwd" ] || cwd=$HOME
(
  cd "$cwd" || { echo 126 > "$d/exit"; exit 0; }
  eval "$4" &
  echo $! > "$d/pid.tmp" && mv "$d/pid.tmp" "$d/pid"
  wait $!
  echo $? > "$d/exit"
) >> "$d/log" 2>&1 < /dev/null &
i=0
while [ ! -s "$d/pid" ] && [ ! -s "$d/exit" ] && [ "$i" -lt 500 ]; do sleep 0.01; i=$((i+1)); done
[ -s "$d/pid" ] || { echo "could not start $1 (see $d/log)" >&2; exit 4; }
echo "running $(cat "$d/pid")"`;

/** $1 name, $2 grace in tenths of a second. */
const STOP_SCRIPT = `d="$HOME/${PROCS_DIR}/$1"
pid=$(cat "$d/pid" 2>/dev/null) || { echo stopped; exit 0; }
alive() { s=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1); [ -n "$s" ] && [ "$s" != Z ]; }
if ! alive; then rm -f "$d/pid"; echo stopped; exit 0; fi
kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
i=0
while alive && [ "$i" -lt "$2" ]; do sleep 0.1; i=$((i+1)); done
if alive; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null; sleep 0.1; fi
rm -f "$d/pid"
echo "was-running $pid"`;

function parseStatus(name: string, stdout: string): ProcessStatus {
  const [first = '', ...rest] = stdout.split('\n');
  const m = /^running (\d+)$/.exec(first.trim());
  const exit = /^stopped (\d+)$/.exec(first.trim());
  const stamp = rest.join('\n');
  return {
    name,
    running: m !== null,
    ...(m ? { pid: Number(m[1]) } : {}),
    ...(exit ? { exitCode: Number(exit[1]) } : {}),
    ...(stamp !== '' ? { stamp } : {}),
    logFile: `~/${PROCS_DIR}/${name}/log`,
  };
}

export class BackgroundLauncher implements Launcher {
  async start(remote: Remote, spec: ProcessSpec, signal?: AbortSignal): Promise<ProcessStatus> {
    const name = checkName(spec.name);
    // setsid: own session and process group (stop kills the whole group); exec keeps the pid.
    const line = formatCommandLine(['setsid', ...spec.argv], { env: spec.env });
    const shown = formatCommandLine(spec.argv);
    const r = await remote.exec(['sh', '-c', START_SCRIPT, 'sh', name, spec.stamp ?? '', spec.cwd ?? '', line, shown], {
      allowFailure: true,
      signal,
    });
    if (r.exitCode !== 0) {
      throw new CommandFailed(remote.host.name, `start ${name}: ${shown}`, r, {
        hint: r.exitCode === 3 ? `Stop it first (the system's stop target), or it is run by another deployment.` : undefined,
      });
    }
    const pid = Number(/running (\d+)/.exec(r.stdout)?.[1]);
    return { name, running: true, pid, ...(spec.stamp ? { stamp: spec.stamp } : {}), logFile: `~/${PROCS_DIR}/${name}/log` };
  }

  async status(remote: Remote, name: string, signal?: AbortSignal): Promise<ProcessStatus> {
    const r = await remote.exec(['sh', '-c', STATUS_SCRIPT, 'sh', checkName(name)], { signal });
    return parseStatus(name, r.stdout);
  }

  async stop(remote: Remote, name: string, opts: { graceMs?: number; signal?: AbortSignal } = {}): Promise<{ wasRunning: boolean }> {
    const tenths = String(Math.max(1, Math.round((opts.graceMs ?? 5000) / 100)));
    const r = await remote.exec(['sh', '-c', STOP_SCRIPT, 'sh', checkName(name), tenths], { signal: opts.signal });
    return { wasRunning: r.stdout.startsWith('was-running') };
  }
}
