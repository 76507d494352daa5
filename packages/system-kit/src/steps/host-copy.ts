/**
 * `from = "build-host"` distribution: an artifact built on a platform host is copied from that
 * host's build folder instead of sent up from the controller.
 * - On the build host itself: a local copy.
 * - To another host, when the deployment has a deployment key (made for a coordinator): the build
 *   host sends it straight to the host's private address with OpenSSH, logging in with that key
 *   (its private half and the hosts' keys, as this machine accepted them, are put on the build
 *   host; its public half on the receiving host; `teardown` removes all of it). The controller's
 *   uplink carries nothing.
 * - Otherwise (no key, a host behind a jump host, or the direct copy fails): relayed through the
 *   controller's two SSH connections (read there, written here; nothing touches the controller's
 *   disk, but its link carries the bytes down once and up once).
 * Each copy is written to a temp name, verified by sha256, then renamed into place. When the build
 * host no longer holds the built digest (a later build of another configuration replaced it), the
 * copy comes from dist/ instead.
 */
import type { Host, Remote } from '@labrig/core';
import { CommandFailed, TransferVerifyFailed, quoteArg } from '@labrig/core';
import { posix } from 'node:path';
import { remoteSha256 } from '@labrig/artifacts';
import { FINALIZE_FILE_SCRIPT, authorizeDeployKey, placeDeployKey, type DeployKey } from '@labrig/ssh';

export interface HostCopy {
  name: string;
  /** The build host. */
  from: Host;
  /** Absolute path on the build host. */
  fromPath: string;
  /** Destination on this host (relative to the login home, or absolute). */
  remote: string;
  sha256: string;
  mode: number;
  /** The same file in dist/ (the fallback). */
  local: string;
  /** The deployment key and the hosts' known_hosts lines (as the build host reaches them): copy host to host. */
  direct?: { key: DeployKey; knownHosts: string };
}

/** Hosts given the key and known_hosts in this process (once each). */
const prepared = new WeakMap<Remote, Promise<{ identity: string; knownHosts: string }>>();

/**
 * Let `from` reach the other hosts with the deployment key: its private half and the hosts' keys
 * under `~/.labrig/keys/` (once per connection). Returns both paths, relative to the login home.
 */
export function prepareSender(from: Remote, direct: NonNullable<HostCopy['direct']>, signal: AbortSignal): Promise<{ identity: string; knownHosts: string }> {
  let p = prepared.get(from);
  if (!p) {
    p = (async () => {
      const identity = await placeDeployKey(from, direct.key, signal);
      const knownHosts = `${identity}.known_hosts`;
      await from.exec(['sh', '-c', 'umask 077 && cat > "$1.tmp" && mv -f -- "$1.tmp" "$1"', 'sh', knownHosts], { stdin: direct.knownHosts, signal });
      return { identity, knownHosts };
    })();
    p.catch(() => prepared.delete(from));
    prepared.set(from, p);
  }
  return p;
}

/** The build host sends `fromPath` to `to` (as `tmp` there) over its own SSH client; false when it could not. */
async function sendDirect(a: HostCopy, to: Remote, from: Remote, tmp: string, signal: AbortSignal): Promise<{ ok: true } | { ok: false; why: string }> {
  const direct = a.direct!;
  const { identity, knownHosts } = await prepareSender(from, direct, signal);
  await authorizeDeployKey(to, direct.key, signal);
  const h = to.host;
  const target = `${h.user ? `${h.user}@` : ''}${h.privateAddress ?? h.address}`;
  const r = await from.exec(
    ['sh', '-c', 'i=$1 k=$2 p=$3 t=$4 c=$5 f=$6; exec ssh -i "$i" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$k" -o ConnectTimeout=10 -p "$p" -- "$t" "$c" < "$f"', 'sh', identity, knownHosts, String(h.port ?? 22), target, `cat > ${quoteArg(tmp)}`, a.fromPath],
    { signal, allowFailure: true },
  );
  return r.exitCode === 0 ? { ok: true } : { ok: false, why: (r.stderr.trim().split('\n').pop() ?? '') || `ssh exited with ${r.exitCode}` };
}

/** Copy one artifact to `to` from the build host (`fromRemote`); returns the bytes that crossed the controller and how. */
export async function copyFromBuildHost(a: HostCopy, to: Remote, fromRemote: Remote, signal: AbortSignal): Promise<{ bytes: number; via: 'build-host' | 'direct' | 'relay' | 'dist' | 'present'; note?: string }> {
  // A relative destination resolves against the login home (commands start there).
  const destQ = a.remote;
  if ((await remoteSha256(to, destQ, signal)) === a.sha256) {
    await to.exec(['chmod', a.mode.toString(8), '--', destQ], { signal });
    return { bytes: 0, via: 'present' };
  }
  if ((await remoteSha256(fromRemote, a.fromPath, signal)) !== a.sha256) {
    const r = await to.putFile(a.local, destQ, { mode: a.mode, signal });
    return { bytes: r.transferred ? r.bytes : 0, via: 'dist' };
  }
  const tmp = `${destQ}.labrig-copy-${process.pid}`;
  await to.exec(['mkdir', '-p', '--', posix.dirname(destQ)], { signal });
  const finalize = async (): Promise<void> => {
    const fin = await to.exec(['sh', '-c', FINALIZE_FILE_SCRIPT, 'sh', tmp, destQ, a.sha256, a.mode.toString(8)], { signal, allowFailure: true });
    if (fin.exitCode === 3) throw new TransferVerifyFailed(to.host.name, `${a.name} from ${a.from.name}`, a.sha256, /mismatch:([0-9a-f]*)/.exec(fin.stderr)?.[1] ?? '');
    if (fin.exitCode !== 0) throw new CommandFailed(to.host.name, `install ${a.name}`, fin);
  };
  if (to.host.name === a.from.name) {
    await to.exec(['cp', '--', a.fromPath, tmp], { signal });
    await finalize();
    return { bytes: 0, via: 'build-host' };
  }
  let note: string | undefined;
  if (a.direct && !to.host.jump) {
    const d = await sendDirect(a, to, fromRemote, tmp, signal);
    if (d.ok) {
      await finalize();
      return { bytes: 0, via: 'direct' };
    }
    note = d.why;
  }
  const sink = to.spawn(['sh', '-c', 'cat > "$1"', 'sh', tmp], { signal });
  let bytes = 0;
  await fromRemote.exec(['cat', '--', a.fromPath], {
    signal,
    onStdout: (chunk) => {
      bytes += chunk.length;
      sink.write(chunk);
    },
  });
  sink.end();
  await sink.result;
  await finalize();
  return { bytes, via: 'relay', ...(note !== undefined ? { note } : {}) };
}
