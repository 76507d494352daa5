/**
 * Chain copy: one file to many hosts, sent by this machine once. The first host writes what
 * arrives to disk and, while it is still arriving, forwards it to the next host over SSH with the
 * deployment key, which does the same (a pipeline, as Kascade does it: the whole chain takes about
 * one transfer, and this machine's uplink carries the file once). Each host checks the sha256 of
 * what it wrote before moving it into place, and reports `ok <i>` or `fail <i> <why>`; those lines
 * travel back up the chain's SSH connections to this machine. A host that already holds the
 * digest is left out of the chain, and feeds it when there is one (a host whose copy was damaged is
 * re-fed by a neighbour, not through this machine's uplink). A host that dies mid-chain does not stop the hosts before it;
 * the hosts after it are fed once more, by the last host that holds the file (else from here),
 * and the dead one is reported with its error. A damaged copy is never moved into place.
 *
 * Every host gets a small receiver script (`~/.labrig/bin/chain-recv.sh`); the hosts that forward
 * get the deployment key's private half and the next hosts' keys, as this machine accepted them
 * (steps/host-copy.ts places them; `teardown` removes them).
 */
import { createReadStream } from 'node:fs';
import type { Host, Remote } from '@labrig/core';
import { remoteSha256 } from '@labrig/artifacts';
import type { DeployKey } from '@labrig/ssh';
import { authorizeDeployKey } from '@labrig/ssh';
import { prepareSender } from './host-copy.js';

export const CHAIN_RECEIVER = '.labrig/bin/chain-recv.sh';

/**
 * $1 tmp, $2 dest, $3 sha256, $4 mode, $5 key, $6 known_hosts, $7 this host's index, then pairs of
 * (user@address, port) for the hosts after it. Writes while forwarding (`tee -p`: a downstream
 * host that dies does not stop this copy), then verifies and reports.
 */
const RECEIVER = `set -u
tmp=$1 dest=$2 sha=$3 mode=$4 key=$5 kh=$6 me=$7; shift 7
q() { printf "'"; printf %s "$1" | sed "s/'/'\\\\\\\\''/g"; printf "' "; }
if [ "$me" = source ]; then
  # A host that holds the file feeds the chain after it (re-feeding hosts a dead one starved).
  tgt=$1 port=$2; shift 2
  cmd="sh ${CHAIN_RECEIVER} $(q "$tmp")$(q "$dest")$(q "$sha")$(q "$mode")$(q "$key")$(q "$kh")$(q 0)"
  for a in "$@"; do cmd="$cmd$(q "$a")"; done
  ssh -i "$key" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$kh" -o ConnectTimeout=10 -p "$port" -- "$tgt" "$cmd" < "$dest" || echo "fail 0 the copy from the feeding host ended with status $?"
  exit 0
fi
mkdir -p -- "$(dirname -- "$tmp")" || { echo "fail $me cannot create $(dirname -- "$tmp")"; cat > /dev/null; exit 0; }
if [ $# -ge 2 ]; then
  tgt=$1 port=$2; shift 2
  next=$((me + 1))
  cmd="sh ${CHAIN_RECEIVER} $(q "$tmp")$(q "$dest")$(q "$sha")$(q "$mode")$(q "$key")$(q "$kh")$(q "$next")"
  for a in "$@"; do cmd="$cmd$(q "$a")"; done
  tee -p -- "$tmp" | ssh -i "$key" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$kh" -o ConnectTimeout=10 -p "$port" -- "$tgt" "$cmd" || echo "fail $next the copy from host $me ended with status $?"
else
  cat > "$tmp"
fi
h=$(sha256sum < "$tmp" | cut -c1-64)
if [ "$h" = "$sha" ]; then chmod "$mode" -- "$tmp" && mv -f -- "$tmp" "$dest" && echo "ok $me"; else rm -f -- "$tmp"; echo "fail $me sha256 $h, expected $sha"; fi
`;

export interface ChainCopy {
  localPath: string;
  sha256: string;
  /** Destination on every host (relative to the login home, or absolute). */
  dest: string;
  mode: number;
  /** The hosts in chain order, connected from here. */
  hosts: Remote[];
  key: DeployKey;
  /** known_hosts lines for the hosts as the others reach them (their private addresses). */
  knownHosts: string;
  signal: AbortSignal;
  /** Called as bytes leave this machine and as hosts report (not throttled). */
  onProgress?: (p: ChainProgress) => void;
}

export interface ChainProgress {
  /** Bytes this machine has sent so far. */
  bytesSent: number;
  /** Hosts that hold the file now (verified, or held it before). */
  done: number;
  total: number;
}

export type ChainHostResult = { host: string; status: 'ok' | 'present' } | { host: string; status: 'failed'; error: string };

export interface ChainResult {
  results: ChainHostResult[];
  /** Bytes this machine sent (the file once, or 0 when every host held it). */
  bytesSent: number;
}

/** Send one file down a chain of hosts (those without it), each verified; per-host results. */
export async function sendChain(c: ChainCopy): Promise<ChainResult> {
  const { signal } = c;
  const results = new Map<string, ChainHostResult>();
  // What each host holds; a host that does not answer is failed and left out.
  const held = await Promise.allSettled(
    c.hosts.map(async (r) => (await remoteSha256(r, c.dest, signal)) === c.sha256),
  );
  const chain: Remote[] = [];
  c.hosts.forEach((r, i) => {
    const h = held[i]!;
    if (h.status === 'rejected') results.set(r.host.name, { host: r.host.name, status: 'failed', error: errorText(h.reason) });
    else if (h.value) results.set(r.host.name, { host: r.host.name, status: 'present' });
    else chain.push(r);
  });
  let bytesSent = 0;
  const total = c.hosts.length;
  let done = [...results.values()].filter((x) => x.status === 'present').length;
  const report = (e: { sent?: number; ok?: boolean }): void => {
    bytesSent += e.sent ?? 0;
    if (e.ok) done++;
    c.onProgress?.({ bytesSent, done, total });
  };
  report({});
  // Hosts that hold the file feed the others (a neighbour, not this machine's uplink).
  const holders = c.hosts.filter((r) => results.get(r.host.name)?.status === 'present');
  if (chain.length > 0) {
    const source = holders[0];
    const first = await runChain(c, source, chain, report).catch((e: unknown) => {
      if (!source || signal.aborted) throw e;
      return { results: chain.map((r): ChainHostResult => ({ host: r.host.name, status: 'failed', error: `the copy from the feeding host ${source.host.name} failed: ${errorText(e)}` })) };
    });
    first.results.forEach((x) => results.set(x.host, x));
    // Hosts the chain did not reach (one before them died) or that failed: fed once more, from the
    // last host that holds it (else from here), without those that no longer answer.
    const failed = chain.filter((r) => results.get(r.host.name)?.status === 'failed');
    if (failed.length > 0) {
      const alive = new Set<Remote>();
      await Promise.all(
        failed.map(async (r) => {
          try {
            await r.exec(['true'], { signal: AbortSignal.any([signal, AbortSignal.timeout(15_000)]) });
            alive.add(r);
          } catch (e) {
            const before = results.get(r.host.name);
            results.set(r.host.name, { host: r.host.name, status: 'failed', error: `${before && before.status === 'failed' ? `${before.error}; then ` : ''}${errorText(e)}` });
          }
        }),
      );
      // Hosts nobody reached first; a host its peer could not reach (but this machine can) last, so it starves nobody again.
      const unreachable = (r: Remote) => /^the copy from /.test((results.get(r.host.name) as { error?: string } | undefined)?.error ?? '');
      const retry = [...chain.filter((r) => alive.has(r) && !unreachable(r)), ...chain.filter((r) => alive.has(r) && unreachable(r))];
      if (retry.length > 0) {
        // The last host the first round fed, else a holder other than the one that failed, else this machine.
        const feeder = [...chain].reverse().find((r) => results.get(r.host.name)?.status === 'ok') ?? holders.find((h) => h !== source);
        const second = await runChain(c, feeder, retry, report);
        second.results.forEach((x) => results.set(x.host, x));
      }
    }
  }
  return { results: c.hosts.map((r) => results.get(r.host.name)!), bytesSent };
}

/** Put the receiver script on a host. */
async function placeReceiver(r: Remote, signal: AbortSignal): Promise<void> {
  await r.exec(['sh', '-c', 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1.tmp" && mv -f -- "$1.tmp" "$1"', 'sh', CHAIN_RECEIVER], { stdin: RECEIVER, signal });
}

/** One pipeline down `chain`, fed from here or from `feeder` (a host that holds the file). */
async function runChain(c: ChainCopy, feeder: Remote | undefined, chain: Remote[], report: (e: { sent?: number; ok?: boolean }) => void): Promise<{ results: ChainHostResult[] }> {
  const { signal } = c;
  // The receiver everywhere; the key's public half where a host receives from another host, its
  // private half and the next hosts' keys where a host forwards.
  const senders = await Promise.all(
    chain.map(async (r, i) => {
      await placeReceiver(r, signal);
      if (i > 0 || feeder) await authorizeDeployKey(r, c.key, signal);
      return i < chain.length - 1 ? prepareSender(r, { key: c.key, knownHosts: c.knownHosts }, signal) : undefined;
    }),
  );
  const tmp = `${c.dest}.labrig-chain-${process.pid}`;
  const hop = (r: Remote) => [targetOf(r.host), String(r.host.port ?? 22)];
  // Hosts' `ok i` lines as they come (they travel back up the chain while later hosts still write).
  let partial = '';
  const oks = new Set<string>();
  const onStdout = (chunk: Buffer): void => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      const m = /^ok (\d+)$/.exec(l.trim());
      if (m && !oks.has(m[1]!)) {
        oks.add(m[1]!);
        report({ ok: true });
      }
    }
  };
  let r;
  if (feeder) {
    await placeReceiver(feeder, signal);
    const s = await prepareSender(feeder, { key: c.key, knownHosts: c.knownHosts }, signal);
    r = await feeder.exec(['sh', CHAIN_RECEIVER, tmp, c.dest, c.sha256, c.mode.toString(8), s.identity, s.knownHosts, 'source', ...chain.flatMap(hop)], { signal, allowFailure: true, onStdout });
  } else {
    const first = senders[0];
    const argv = ['sh', CHAIN_RECEIVER, tmp, c.dest, c.sha256, c.mode.toString(8), first?.identity ?? '-', first?.knownHosts ?? '-', '0', ...chain.slice(1).flatMap(hop)];
    const head = chain[0]!.spawn(argv, { signal, allowFailure: true, onStdout });
    const src = createReadStream(c.localPath, { highWaterMark: 1 << 20 });
    for await (const chunk of src) {
      head.write(chunk as Buffer);
      // Only as fast as the uplink takes it: memory stays at a chunk or two, and progress is real.
      await head.drain();
      report({ sent: (chunk as Buffer).length });
    }
    head.end();
    r = await head.result;
  }
  const said = new Map<number, ChainHostResult>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(ok|fail) (\d+)(?: (.*))?$/.exec(line.trim());
    if (!m) continue;
    const i = Number(m[2]);
    const host = chain[i]?.host.name;
    if (host === undefined || said.has(i)) continue;
    // The receiver counts hosts from the chain's head; messages name them.
    const why = (m[3] ?? 'failed').replace(/^the copy from host (\d+)/, (all, k: string) => (chain[Number(k)] ? `the copy from ${chain[Number(k)]!.host.name}` : all));
    said.set(i, m[1] === 'ok' ? { host, status: 'ok' } : { host, status: 'failed', error: why });
  }
  const stderr = r.stderr.trim().split('\n').pop();
  const results = chain.map((h, i): ChainHostResult => said.get(i) ?? { host: h.host.name, status: 'failed', error: `the chain ended before it${stderr ? ` (${stderr})` : ''}` });
  return { results };
}

/** The first line of an error's message (chain and distribute report hosts' errors with it). */
export function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

function targetOf(h: Host): string {
  return `${h.user ? `${h.user}@` : ''}${h.privateAddress ?? h.address}`;
}
