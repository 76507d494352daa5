/**
 * known_hosts in OpenSSH format: `[addr]:port keytype base64` (port != 22) or `addr keytype base64`;
 * comma lists, `*`/`?`/`!` patterns, hashed `|1|salt|hash` names, `@revoked` markers.
 * Policies: accept-new (unknown hosts are appended), strict (unknown = error), off.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { HostKeyMismatch, HostKeyUnknown } from '@labrig/core';
import { matchGlob } from './ssh-config.js';

export type HostKeyPolicy = 'accept-new' | 'strict' | 'off';

export interface KnownHostLine {
  marker?: 'revoked' | 'cert-authority';
  /** The host field as written (comma list or hashed). */
  hosts: string;
  keyType: string;
  key: string; // base64
  line: number;
}

/** A host not in known_hosts while the policy is `strict`. */

/** `addr` for port 22, `[addr]:port` otherwise — the name OpenSSH writes. */
export function hostKeyName(address: string, port = 22): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

export function parseKnownHosts(text: string): KnownHostLine[] {
  const out: KnownHostLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const l = (lines[i] as string).trim();
    if (l === '' || l.startsWith('#')) continue;
    const f = l.split(/\s+/);
    let marker: KnownHostLine['marker'];
    if (f[0]?.startsWith('@')) {
      const m = f.shift() as string;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue;
    }
    const [hosts, keyType, key] = f;
    if (hosts === undefined || keyType === undefined || key === undefined) continue;
    const entry: KnownHostLine = { hosts, keyType, key, line: i + 1 };
    if (marker) entry.marker = marker;
    out.push(entry);
  }
  return out;
}

/** Whether a known_hosts host field names `name` (`addr` or `[addr]:port`). */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let positive = false;
  for (const pat of field.split(',')) {
    if (pat.startsWith('!')) {
      if (matchGlob(pat.slice(1), name)) return false;
    } else if (matchGlob(pat, name)) positive = true;
  }
  return positive;
}

/** The key type inside an SSH wire-format public key blob. */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** OpenSSH-style fingerprint: `SHA256:<base64 without padding>`. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export type HostKeyCheck =
  | { status: 'match' }
  | { status: 'unknown' }
  | { status: 'mismatch'; expected: string[] }
  | { status: 'revoked' };

/** Compare a presented key with the known_hosts lines for `name`. */
export function checkHostKey(lines: readonly KnownHostLine[], name: string, blob: Buffer): HostKeyCheck {
  const b64 = blob.toString('base64');
  const expected: string[] = [];
  let match = false;
  for (const l of lines) {
    if (l.marker === 'cert-authority') continue;
    if (l.marker === 'revoked') {
      if (l.key === b64) return { status: 'revoked' };
      continue;
    }
    if (!hostFieldMatches(l.hosts, name)) continue;
    if (l.key === b64) match = true;
    else {
      try {
        expected.push(`${l.keyType} ${fingerprint(Buffer.from(l.key, 'base64'))}`);
      } catch {
        expected.push(l.keyType);
      }
    }
  }
  if (match) return { status: 'match' };
  if (expected.length) return { status: 'mismatch', expected };
  return { status: 'unknown' };
}

/** Serializes appends per file within this process. */
const appendLocks = new Map<string, Promise<unknown>>();

function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const prev = appendLocks.get(file) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const settled = next.then(
    () => undefined,
    () => undefined,
  );
  appendLocks.set(file, settled);
  void settled.then(() => {
    if (appendLocks.get(file) === settled) appendLocks.delete(file);
  });
  return next;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

/** Key types known for `name` in the file (so those host key algorithms can be preferred). */
export async function readKnownKeyTypes(file: string, name: string): Promise<string[]> {
  const lines = parseKnownHosts(await readText(file));
  return [...new Set(lines.filter((l) => !l.marker && hostFieldMatches(l.hosts, name)).map((l) => l.keyType))];
}

/**
 * Check the presented host key against the file; append it when unknown and the policy is accept-new.
 * Throws HostKeyMismatch (changed or revoked key) or HostKeyUnknown (strict).
 */
export async function verifyHostKey(args: {
  file: string;
  policy: HostKeyPolicy;
  /** Inventory name of the host, for messages. */
  host: string;
  /** `hostKeyName(address, port)`. */
  name: string;
  key: Buffer;
}): Promise<void> {
  const { file, policy, host, name, key } = args;
  if (policy === 'off') return;
  const got = `${keyTypeOf(key)} ${fingerprint(key)}`;
  const judge = (text: string): HostKeyCheck => checkHostKey(parseKnownHosts(text), name, key);
  const fail = (c: HostKeyCheck): void => {
    if (c.status === 'mismatch') throw new HostKeyMismatch(host, name, file, c.expected.join(' or '), got);
    if (c.status === 'revoked') throw new HostKeyMismatch(host, name, file, '(this key is marked @revoked)', got);
  };
  const first = judge(await readText(file));
  if (first.status === 'match') return;
  fail(first);
  if (policy === 'strict') throw new HostKeyUnknown(host, name, file, got);
  await withFileLock(file, async () => {
    // Re-read inside the lock: another connection may have just added it.
    const text = await readText(file);
    const again = judge(text);
    if (again.status === 'match') return;
    fail(again);
    await mkdir(path.dirname(file), { recursive: true });
    const sep = text !== '' && !text.endsWith('\n') ? '\n' : '';
    await appendFile(file, `${sep}${name} ${keyTypeOf(key)} ${key.toString('base64')}\n`, { mode: 0o644 });
  });
}
