/**
 * The shell text labrig runs on hosts for DAPHNE. Every value reaches these scripts as a
 * positional argument (`sh -c TEXT name ARG...`), never spliced into the text.
 *
 * `$p` is the deployment folder (config `path`): absolute, or relative to the user's home.
 */

/** Resolve `$p` to an absolute folder. */
const RESOLVE = 'case $p in /*) ;; *) p=$HOME/$p ;; esac';

/** `up host:port`: something accepts TCP connections there (bash's /dev/tcp; nothing is sent). */
const UP = `up() { bash -c 'exec 3<>"/dev/tcp/\${0%:*}/\${0##*:}"' "$1" 2>/dev/null; }`;

/**
 * Collect a list of workers (space-separated host:port): `ws` = the listening ones (comma list,
 * DISTRIBUTED_WORKERS form), `down` = the others, `total` = how many.
 */
const COLLECT = `collect() { ws=; down=; total=0; for w in $1; do total=$((total+1)); if up "$w"; then ws=\${ws:+$ws,}$w; else down="$down $w"; fi; done; }`;

/** The workers a Slurm job registered (one file per task under $p/workers). */
const REGISTERED = 'list=$(cat "$p"/workers/* 2>/dev/null | tr "\\n" " ")';

/** SSH mode: fail (naming host:port) when something already listens where a worker should. */
export const PORT_FREE = `if (exec 3<>"/dev/tcp/$0/$1") 2>/dev/null; then
  echo "labrig: $0:$1 is already taken by another process: the DAPHNE worker cannot listen there (stop that process, or give this worker another port in ssh.peers)" >&2
  exit 1
fi`;

/** SSH mode worker: `sh -c WORKER daphne-worker <path> <peer> <worker binary> [container...]`. */
export const SSH_WORKER = `p=$1; peer=$2; shift 2; ${RESOLVE}
cd "$p" || { echo "labrig: $p does not exist (run the transfer target first)" >&2; exit 1; }
mkdir -p logs
exec "$@" "$peer"`;

/**
 * Slurm mode worker, once per task: `sh -c SLURM_WORKER daphne-worker <path> <port base>
 * <address|hostname> <worker argv...>`. Port = base + SLURM_LOCALID (the seed's PORTRANGE_BEGIN);
 * registers `host:port` in $p/workers/ (what run and status read), logs to $p/logs/OUTPUT.<host>:<port>.
 */
export const SLURM_WORKER = `p=$1; base=$2; addr=$3; shift 3; ${RESOLVE}
port=$((base + \${SLURM_LOCALID:-0}))
case $addr in hostname) a=$(hostname) ;; *) a=$addr ;; esac
cd "$p" || { echo "labrig: $p does not exist (run the transfer target first)" >&2; exit 1; }
mkdir -p workers logs
if (exec 3<>"/dev/tcp/$a/$port") 2>/dev/null; then
  echo "labrig: $a:$port is already taken by another process: DAPHNE worker (task \${SLURM_PROCID:-0}) cannot listen there" >&2
  exit 1
fi
echo "$a:$port" > "workers/$a:$port"
exec "$@" "$a:$port" > "logs/OUTPUT.$a:$port" 2>&1`;

/** Slurm mode readiness: `sh -c SLURM_READY ready <path> <n>`: n workers registered and listening. */
export const SLURM_READY = `p=$1; n=$2; ${RESOLVE}
${UP}
${COLLECT}
${REGISTERED}
collect "$list"
[ "$total" -ge "$n" ] || { echo "$total of $n workers registered in $p/workers" >&2; exit 1; }
[ -z "$down" ] || { echo "registered but not listening:$down" >&2; exit 1; }`;

/**
 * Status (both modes): `sh -c STATUS status <path> <n> <ssh peers, space-separated or "">`.
 * One line per worker; DISTRIBUTED_WORKERS; exit 1 unless all n listen.
 */
export const STATUS = `p=$1; n=$2; list=$3; ${RESOLVE}
${UP}
${COLLECT}
[ -n "$list" ] || { ${REGISTERED}; }
collect "$list"
for w in $list; do if up "$w"; then echo "worker $w: listening"; else echo "worker $w: NOT listening"; fi; done
echo "DISTRIBUTED_WORKERS=$ws"
[ "$total" -ge "$n" ] && [ -z "$down" ] || { echo "labrig: $(( total - $(echo "$down" | wc -w) )) of $n DAPHNE workers listening" >&2; exit 1; }`;

/**
 * The coordinator (both modes): `sh -c RUN run <path> <n> <ssh peers or ""> <argv...>`: every
 * worker must listen (else exit 3 naming the ones that do not), then DISTRIBUTED_WORKERS is set
 * and argv runs in $p (Slurm: argv starts with srun).
 */
export const RUN = `p=$1; n=$2; list=$3; shift 3; ${RESOLVE}
${UP}
${COLLECT}
[ -n "$list" ] || { ${REGISTERED}; }
collect "$list"
if [ -z "$ws" ]; then
  echo "labrig: no DAPHNE worker is up (\${list:-none registered in $p/workers}): start the workers first (the workers or deploy target)" >&2
  exit 3
fi
if [ -n "$down" ] || [ "$total" -lt "$n" ]; then
  echo "labrig: only some DAPHNE workers are up ($ws; not listening:\${down:- none}; $total of $n registered): start the workers again (the workers target)" >&2
  exit 3
fi
export DISTRIBUTED_WORKERS=$ws
cd "$p" || exit 1
echo "DISTRIBUTED_WORKERS=$ws"
exec "$@"`;

/** Remove the deployment folder (`sh -c CLEAN clean <path>`). */
export const CLEAN = `p=$1; ${RESOLVE}
[ "$p" != "$HOME" ] && [ "$p" != / ] || { echo "labrig: refusing to remove $p" >&2; exit 1; }
rm -rf -- "$p"`;

/** Forget the registered workers of a stopped job. */
export const FORGET = `p=$1; ${RESOLVE}
rm -rf -- "$p/workers"`;

/** Unpack the package into the folder (`sh -c UNPACK unpack <path> <tgz>`). */
export const UNPACK = `p=$1; ${RESOLVE}
tar -xzf "$p/$2" -C "$p"`;
