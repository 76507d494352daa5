/**
 * The deployment key: an ed25519 key pair labrig makes for one deployment (a platform of a
 * workspace), so hosts can reach each other (a coordinator running a sweep, a host forwarding
 * artifacts) without the user's own keys ever leaving the laptop. Its public half goes into each
 * host's ~/.ssh/authorized_keys with `restrict` (no forwarding, no pty) and a marker comment
 * (`labrig-deploy-key:<deployment>`), once: a second install finds the line and adds nothing.
 * `revokeDeployKey` removes every line with the marker and the private half wherever it was put.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostFieldMatches, hostKeyName, parseKnownHosts } from './known-hosts.js';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import type { Host, Remote } from '@labrig/core';
import { quoteArg } from '@labrig/core';

export const DEPLOY_KEYS_DIR = '.labrig/deploy-keys';
/** Where the private half lives on a host that needs it, relative to the login home. */
export const REMOTE_KEYS_DIR = '.labrig/keys';

export interface DeployKey {
  deployment: string;
  /** Local private key file (0600). */
  privateFile: string;
  /** `ssh-ed25519 AAAA... labrig-deploy-key:<deployment>` */
  publicLine: string;
  /** SHA256:... as OpenSSH prints it. */
  fingerprint: string;
  /** The comment that marks the key's lines on hosts. */
  marker: string;
}

const SAFE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const deployKeyMarker = (deployment: string) => `labrig-deploy-key:${deployment}`;
export const remoteDeployKeyFile = (deployment: string) => `${REMOTE_KEYS_DIR}/${deployment}`;

function fingerprintOf(publicLine: string): string {
  const b64 = publicLine.split(/\s+/)[1] ?? '';
  return `SHA256:${createHash('sha256').update(Buffer.from(b64, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** The deployment's key pair under `<root>/.labrig/deploy-keys/<deployment>/`, made on first use. */
export function ensureDeployKey(root: string, deployment: string): DeployKey {
  if (!SAFE.test(deployment)) throw new Error(`deployment name ${JSON.stringify(deployment)} cannot name a key (letters, digits, _ . -)`);
  const dir = join(root, DEPLOY_KEYS_DIR, deployment);
  const privateFile = join(dir, 'id_ed25519');
  const marker = deployKeyMarker(deployment);
  if (!existsSync(privateFile) || !existsSync(`${privateFile}.pub`)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: marker });
    writeFileSync(`${privateFile}.tmp`, pair.private, { mode: 0o600 });
    writeFileSync(`${privateFile}.pub`, `${pair.public.trim()}\n`, { mode: 0o644 });
    // The private half last: a key file without its .pub is made again.
    writeFileSync(privateFile, readFileSync(`${privateFile}.tmp`), { mode: 0o600 });
    rmSync(`${privateFile}.tmp`);
  }
  chmodSync(privateFile, 0o600);
  const publicLine = readFileSync(`${privateFile}.pub`, 'utf8').trim();
  return { deployment, privateFile, publicLine, fingerprint: fingerprintOf(publicLine), marker };
}

/** Delete the local key pair (after it was revoked on every host). */
export function deleteDeployKey(root: string, deployment: string): void {
  rmSync(join(root, DEPLOY_KEYS_DIR, deployment), { recursive: true, force: true });
}

/** Let the key log in to this host. Returns whether a line was added (false: it was there). */
export async function authorizeDeployKey(remote: Remote, key: DeployKey, signal?: AbortSignal): Promise<boolean> {
  const [type, b64] = key.publicLine.split(/\s+/);
  const line = `restrict ${type} ${b64} ${key.marker}`;
  const script = [
    'umask 077',
    'mkdir -p "$HOME/.ssh" || exit 3',
    'f="$HOME/.ssh/authorized_keys"',
    `if [ -f "$f" ] && grep -qF ${quoteArg(b64!)} "$f"; then echo present; exit 0; fi`,
    // A file without a final newline would glue the key to its last line.
    'if [ -s "$f" ] && [ "$(tail -c 1 "$f" | od -An -c | tr -d " ")" != "\\n" ]; then echo >> "$f"; fi',
    `printf '%s\\n' ${quoteArg(line)} >> "$f" && echo added`,
  ].join('\n');
  const r = await remote.shell(script, signal ? { signal } : {});
  return r.stdout.trim() === 'added';
}

/** Put the private half on a host that reaches the others (a coordinator), mode 0600. */
export async function placeDeployKey(remote: Remote, key: DeployKey, signal?: AbortSignal): Promise<string> {
  const path = remoteDeployKeyFile(key.deployment);
  await remote.shell(`umask 077 && mkdir -p ${quoteArg(REMOTE_KEYS_DIR)}`, signal ? { signal } : {});
  await remote.putFile(key.privateFile, path, { mode: 0o600, ...(signal ? { signal } : {}) });
  return path;
}

/**
 * Remove the deployment's key from this host: its authorized_keys lines (by marker) and the
 * private half if it was placed here. Returns how many lines were removed and whether a private key was.
 */
export async function revokeDeployKey(remote: Remote, deployment: string, signal?: AbortSignal): Promise<{ lines: number; privateKey: boolean }> {
  const marker = deployKeyMarker(deployment);
  // The comment ends the line (local does not match local2), trailing blanks or a CR allowed.
  const pattern = ` ${marker.replace(/\./g, '\\.')}[[:space:]]*$`;
  const script = [
    'f="$HOME/.ssh/authorized_keys"',
    'n=0',
    `if [ -f "$f" ]; then n=$(grep -c -- ${quoteArg(pattern)} "$f"); fi`,
    // Replaced atomically where the file really is (a symlinked authorized_keys stays a symlink).
    `if [ "$n" -gt 0 ]; then t=$(readlink -f "$f") && grep -v -- ${quoteArg(pattern)} "$t" > "$t.labrig-tmp"; chmod 600 "$t.labrig-tmp" && mv "$t.labrig-tmp" "$t"; fi`,
    `k=${quoteArg(remoteDeployKeyFile(deployment))}`,
    'p=0; if [ -e "$k" ]; then rm -f "$k" && p=1; fi',
    // The known_hosts a build host was given beside it (host-copy).
    'rm -f "$k.known_hosts"',
    'echo "$n $p"',
  ].join('\n');
  const out = (await remote.shell(script, signal ? { signal } : {})).stdout.trim().split(/\s+/);
  return { lines: Number(out[0] ?? 0) || 0, privateKey: out[1] === '1' };
}

/** The laptop's host keys for `hosts`, written under the address and port other hosts reach them at (private address first): a known_hosts file for a host that connects to the others (a coordinator, a build host). */
export function knownHostsFor(hosts: readonly Host[], knownHostsFile: string | undefined): { text: string; missing: string[] } {
  const lines = knownHostsFile && existsSync(knownHostsFile) ? parseKnownHosts(readFileSync(knownHostsFile, 'utf8')) : [];
  const out: string[] = [];
  const missing: string[] = [];
  for (const h of hosts) {
    const name = hostKeyName(h.address, h.port ?? 22);
    const mine = lines.filter((l) => !l.marker && hostFieldMatches(l.hosts, name));
    if (!mine.length) missing.push(h.name);
    const as = hostKeyName(h.privateAddress ?? h.address, h.port ?? 22);
    for (const l of mine) out.push(`${as} ${l.keyType} ${l.key}`);
  }
  return { text: out.length ? `${[...new Set(out)].join('\n')}\n` : '', missing };
}
