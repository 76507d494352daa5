import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HostKeyMismatch } from '@labrig/core';
import { describe, expect, it } from 'vitest';
import { HostKeyUnknown } from '@labrig/core';
import { checkHostKey, hostFieldMatches, hostKeyName, keyTypeOf, parseKnownHosts, verifyHostKey } from './known-hosts.js';

/** An ssh-ed25519 public key blob in SSH wire format. */
function ed25519Blob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
}

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts', () => {
  const k1 = ed25519Blob();
  const k2 = ed25519Blob();

  it('names hosts like OpenSSH', () => {
    expect(hostKeyName('10.0.0.1', 22)).toBe('10.0.0.1');
    expect(hostKeyName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
    expect(keyTypeOf(k1)).toBe('ssh-ed25519');
  });

  it('parses plain, comma, wildcard, negated, hashed and marker lines', () => {
    const text = [
      '# comment',
      `a.example,[10.0.0.1]:2222 ssh-ed25519 ${k1.toString('base64')} comment here`,
      `*.lab,!bad.lab ssh-ed25519 ${k1.toString('base64')}`,
      `${hashed('[127.0.0.5]:2320')} ssh-ed25519 ${k2.toString('base64')}`,
      `@revoked * ssh-ed25519 ${k2.toString('base64')}`,
      'garbage',
    ].join('\n');
    const lines = parseKnownHosts(text);
    expect(lines).toHaveLength(4);
    expect(hostFieldMatches(lines[0]!.hosts, '[10.0.0.1]:2222')).toBe(true);
    expect(hostFieldMatches(lines[0]!.hosts, '10.0.0.1')).toBe(false);
    expect(hostFieldMatches(lines[1]!.hosts, 'x.lab')).toBe(true);
    expect(hostFieldMatches(lines[1]!.hosts, 'bad.lab')).toBe(false);
    expect(hostFieldMatches(lines[2]!.hosts, '[127.0.0.5]:2320')).toBe(true);
    expect(hostFieldMatches(lines[2]!.hosts, '127.0.0.5')).toBe(false);
    expect(lines[3]!.marker).toBe('revoked');
    expect(checkHostKey(lines, 'a.example', k1).status).toBe('match');
    expect(checkHostKey(lines, 'nobody', k1).status).toBe('unknown');
    expect(checkHostKey(lines, '[127.0.0.5]:2320', k2).status).toBe('revoked');
    const mm = checkHostKey(lines.slice(0, 3), '[127.0.0.5]:2320', k1);
    expect(mm.status).toBe('mismatch');
  });

  it('accept-new appends once (concurrent verifications, re-runs), mismatch names the file, strict refuses', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'labrig-kh-'));
    const file = path.join(dir, 'sub', 'known_hosts');
    const name = hostKeyName('127.0.0.9', 2320);
    await Promise.all(
      Array.from({ length: 20 }, () => verifyHostKey({ file, policy: 'accept-new', host: 'h', name, key: k1 })),
    );
    await verifyHostKey({ file, policy: 'accept-new', host: 'h', name, key: k1 });
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toEqual([`[127.0.0.9]:2320 ssh-ed25519 ${k1.toString('base64')}`]);

    const err = await verifyHostKey({ file, policy: 'accept-new', host: 'h', name, key: k2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatch);
    expect((err as HostKeyMismatch).knownHostsFile).toBe(file);
    expect((err as Error).message).toContain('[127.0.0.9]:2320');
    expect((err as HostKeyMismatch).hint).toContain(file);

    const strict = await verifyHostKey({ file, policy: 'strict', host: 'h2', name: 'other', key: k1 }).catch((e: unknown) => e);
    expect(strict).toBeInstanceOf(HostKeyUnknown);
    await verifyHostKey({ file, policy: 'strict', host: 'h', name, key: k1 });
    await verifyHostKey({ file, policy: 'off', host: 'h', name, key: k2 });
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('appends after a file without a trailing newline', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'labrig-kh-'));
    const file = path.join(dir, 'known_hosts');
    writeFileSync(file, `other ssh-ed25519 ${k2.toString('base64')}`);
    await verifyHostKey({ file, policy: 'accept-new', host: 'h', name: 'new', key: k1 });
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(3);
  });
});
