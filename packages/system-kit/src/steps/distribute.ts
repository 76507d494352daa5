/**
 * Chain distribution inside a deploy: a `distribute` step before the install steps, on every host
 * that needs an artifact. The hosts' step runs share one chain copy per file (steps/chain.ts): the
 * first host to get there starts it for all of them, each host's step then reports its own part
 * (ok, already there, or failed with its error). A host the chain could not feed but that still
 * answers gets the file from here (logged as such); a host that no longer answers fails its step.
 * The chain logs in host to host with the deployment key, made here when nothing made it before
 * (`teardown` removes it from every host).
 */
import { isAbsolute, join } from 'node:path';
import type { Connector, Host, PlatformInstance, Remote, StepContext } from '@labrig/core';
import { Aborted, LabrigError, formatBytes } from '@labrig/core';
import { setMaxListeners } from 'node:events';
import { ensureDeployKey, knownHostsFor } from '@labrig/ssh';
import type { PlannedStep } from './plan.js';
import { errorText, sendChain, type ChainHostResult, type ChainProgress } from './chain.js';

/** How a platform sends artifacts out (`[artifacts] distribute` in its file). */
export type DistributeMode = 'auto' | 'chain' | 'ssh';

/** One file to the hosts that need it. */
export interface ChainFile {
  name: string;
  /** The file here (dist/). */
  local: string;
  /** Destination on each host (relative to the login home, or absolute). */
  remote: string;
  sha256: string;
  size: number;
  mode: number;
  hosts: Host[];
}

/** The `chain` action: this host's part in the chain copy of one file to `hosts`. */
export interface ChainAction extends ChainFile {
  kind: 'chain';
  /** The known_hosts file labrig keeps for the platform (the hosts' keys go along the chain). */
  knownHostsFile?: string;
}

/** The platform file's `[artifacts] distribute` (`auto` when it has none). */
export function platformDistribution(platform: PlatformInstance): DistributeMode {
  return (platform.cfg as { artifacts?: { distribute?: DistributeMode } } | undefined)?.artifacts?.distribute ?? 'auto';
}

/** The known_hosts file labrig keeps for a platform (`[ssh] knownHosts`), absolute. */
export function platformKnownHostsFile(root: string, platform: PlatformInstance): string {
  const f = (platform.cfg as { ssh?: { knownHosts?: string } } | undefined)?.ssh?.knownHosts ?? '.labrig/known_hosts';
  return isAbsolute(f) ? f : join(root, f);
}

/** Chain when asked, or by default (`auto`) when more than one host needs the same file. */
export function usesChain(mode: DistributeMode | undefined, hostCount: number): boolean {
  return hostCount > 1 && (mode ?? 'auto') !== 'ssh';
}

/**
 * The `distribute` step for these files (undefined when none goes to more than one host): each
 * host's actions are the chains it is in; skipped on a host that holds all of its files.
 */
export function planChainDistribution(files: ChainFile[], o: { knownHostsFile?: string } = {}): PlannedStep | undefined {
  const chained = files.filter((f) => f.hosts.length > 1);
  if (chained.length === 0) return undefined;
  const hosts: Host[] = [];
  for (const f of chained) for (const h of f.hosts) if (!hosts.some((x) => x.name === h.name)) hosts.push(h);
  const mine = (h: Host) => chained.filter((f) => f.hosts.some((x) => x.name === h.name));
  return {
    name: 'distribute',
    title: `send ${chained.map((f) => f.name).join(', ')} once, host to host (chain)`,
    hosts,
    skipWhen: (h) => ({ kind: 'files-match', files: mine(h).map((f) => ({ path: f.remote, sha256: f.sha256 })) }),
    actions: (h) => mine(h).map((f) => ({ kind: 'chain', ...f, ...(o.knownHostsFile !== undefined ? { knownHostsFile: o.knownHostsFile } : {}) })),
  };
}

export function describeChainAction(a: ChainAction): string {
  return `chain ${a.name} -> ${a.remote} (sha256 ${a.sha256.slice(0, 12)}, mode ${a.mode.toString(8)}): sent once from here into ${a.hosts.map((h) => h.name).join(' -> ')}, each host forwarding to the next with the deployment key; hosts holding it are left out`;
}

interface SharedChain {
  done: Promise<{ results: Map<string, ChainHostResult>; bytesSent: number }>;
  waiters: number;
  ac: AbortController;
}

/** Chains of a run in progress, per run (its connector) and file. */
const running = new WeakMap<Connector, Map<string, SharedChain>>();

export interface ChainHostOutcome {
  how: string;
  /** Bytes this machine sent for it: the whole chain's for the host that started it, a fallback's own. */
  bytes: number;
}

/**
 * This host's part in the chain copy of `a`: joins the chain the first host started (or starts it),
 * then reports this host's result; a host left unfed that still answers gets the file from here.
 */
export async function joinChain(run: { root: string; deployment: string; connector: Connector }, a: ChainAction, c: StepContext): Promise<ChainHostOutcome> {
  let chains = running.get(run.connector);
  if (!chains) running.set(run.connector, (chains = new Map()));
  const id = `${a.remote}\0${a.sha256}`;
  let shared = chains.get(id);
  const started = !shared;
  if (!shared) {
    const ac = new AbortController();
    // Every command of the chain (a few per host) listens on it.
    setMaxListeners(0, ac.signal);
    const s: SharedChain = { waiters: 0, ac, done: undefined as never };
    s.done = runChain(run, a, ac.signal, progressReporter(a, c));
    s.done.catch(() => undefined).finally(() => chains!.delete(id));
    chains.set(id, s);
    shared = s;
  }
  const s = shared;
  // The chain stops only when every host waiting on it stopped (Ctrl-C, or each one's timeout).
  s.waiters++;
  const onAbort = (): void => {
    if (--s.waiters === 0) s.ac.abort(c.signal.reason);
  };
  c.signal.addEventListener('abort', onAbort, { once: true });
  let r;
  try {
    r = await Promise.race([
      s.done,
      new Promise<never>((_, reject) => {
        if (c.signal.aborted) reject(c.signal.reason);
        c.signal.addEventListener('abort', () => reject(c.signal.reason instanceof Error ? c.signal.reason : new Aborted('aborted')), { once: true });
      }),
    ]);
  } finally {
    c.signal.removeEventListener('abort', onAbort);
  }
  const mine = r.results.get(c.host.name);
  const bytes = started ? r.bytesSent : 0;
  const sizeText = formatBytes(r.bytesSent);
  if (mine?.status === 'present') return { how: `${a.name}: already here`, bytes };
  if (mine?.status === 'ok') return { how: `${a.name}: received in the chain, verified (this machine sent ${sizeText} in all)`, bytes };
  const why = mine?.status === 'failed' ? mine.error : 'not in the chain';
  // Not fed by the chain. If this host still answers, send it from here (its own copy over the uplink).
  const alive = await c.remote.exec(['true'], { signal: AbortSignal.any([c.signal, AbortSignal.timeout(15_000)]), allowFailure: true }).then(
    (x) => x.exitCode === 0,
    () => false,
  );
  if (!alive) throw new ChainCopyFailed(c.host.name, a.name, why);
  c.log(`${a.name}: the chain did not feed this host (${why}); sending it from here`);
  const put = await c.remote.putFile(a.local, a.remote, { mode: a.mode, signal: c.signal });
  if (put.sha256 !== a.sha256) throw new Error(`${a.local} changed since the build (sha256 ${put.sha256}, expected ${a.sha256}): run the build target again`);
  return { how: `${a.name}: sent from here after the chain failed here (${why})`, bytes: bytes + (put.transferred ? put.bytes : 0) };
}

/** A host the chain did not feed and that no longer answers (the other hosts hold the file). */
export class ChainCopyFailed extends LabrigError {
  readonly code = 'CHAIN_COPY_FAILED';
  constructor(
    readonly host: string,
    readonly artifact: string,
    readonly why: string,
  ) {
    super(`${artifact} did not reach ${host} in the chain copy: ${why}`, {
      hint: `${host} no longer answers; the other hosts hold ${artifact}, verified. Run deploy again when ${host} is back: only it is fed, by a host that holds it.`,
      retryable: false,
    });
  }
}

async function runChain(
  run: { root: string; deployment: string; connector: Connector },
  a: ChainAction,
  signal: AbortSignal,
  onProgress: (p: ChainProgress) => void,
): Promise<{ results: Map<string, ChainHostResult>; bytesSent: number }> {
  const results = new Map<string, ChainHostResult>();
  // Every host connected first (a first connection records its host key for the others to check).
  const conns = await Promise.allSettled(a.hosts.map((h) => run.connector.connect(h, signal)));
  const connected: Remote[] = [];
  conns.forEach((x, i) => {
    const h = a.hosts[i]!;
    if (x.status === 'fulfilled') connected.push(x.value);
    else results.set(h.name, { host: h.name, status: 'failed', error: errorText(x.reason) });
  });
  const known = knownHostsFor(
    connected.map((r) => r.host),
    a.knownHostsFile,
  );
  // A host whose key labrig has not recorded (hostKeyPolicy "off") cannot be checked by its peers: left out.
  for (const name of known.missing) results.set(name, { host: name, status: 'failed', error: `its host key is not in ${a.knownHostsFile ?? 'a known_hosts file'}, so the other hosts cannot check it` });
  const inChain = connected.filter((r) => !known.missing.includes(r.host.name));
  let bytesSent = 0;
  if (inChain.length > 0) {
    const key = ensureDeployKey(run.root, run.deployment);
    const r = await sendChain({ localPath: a.local, sha256: a.sha256, dest: a.remote, mode: a.mode, hosts: inChain, key, knownHosts: known.text, signal, onProgress });
    for (const x of r.results) results.set(x.host, x);
    bytesSent = r.bytesSent;
  }
  return { results, bytesSent };
}

/** The chain's progress in the row of the host that started it: at most once a second, and as hosts finish. */
function progressReporter(a: ChainAction, c: StepContext): (p: ChainProgress) => void {
  let last = 0;
  let lastDone = -1;
  return (p) => {
    const now = performance.now();
    if (p.done === lastDone && now - last < 1000 && p.bytesSent < a.size) return;
    last = now;
    lastDone = p.done;
    c.progress?.(formatChainProgress(a.name, p, a.size));
  };
}

export function formatChainProgress(name: string, p: ChainProgress, size: number): string {
  const frac = size > 0 ? Math.min(1, p.bytesSent / size) : 1;
  const n = Math.round(frac * 20);
  return `${name} [${'#'.repeat(n)}${'.'.repeat(20 - n)}] ${formatBytes(p.bytesSent)}/${formatBytes(size)} up, ${p.done}/${p.total} hosts`;
}
