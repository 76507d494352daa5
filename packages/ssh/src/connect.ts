/** Open one authenticated ssh2 Client (direct, or over a forwarded stream for ProxyJump). */
import { existsSync, readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, Algorithms, Client as ClientType, ConnectConfig } from 'ssh2';
import { hostKeyName, readKnownKeyTypes, verifyHostKey } from './known-hosts.js';
import type { HostKeyPolicy } from './known-hosts.js';
import { mapConnectError } from './errors-map.js';
import type { ResolvedHost } from './resolve-host.js';

const { Client, utils } = ssh2;

const KEX = [
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group-exchange-sha256',
  'diffie-hellman-group14-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
];
const HOST_KEYS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];
const CIPHERS = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
];

export interface OpenClientOptions {
  target: ResolvedHost;
  /** A stream to the target (forwarded through a jump host); direct TCP otherwise. */
  sock?: Duplex;
  readyTimeoutMs: number;
  keepaliveInterval: number;
  keepaliveCountMax: number;
  knownHostsFile?: string;
  hostKeyPolicy: HostKeyPolicy;
  /** ssh-agent socket, or undefined for none. */
  agent?: string;
  /** Fallback keys (e.g. ~/.ssh/id_ed25519) tried after explicit ones and the agent. */
  defaultIdentityFiles: string[];
  signal?: AbortSignal;
}

/** Host key algorithms with the types already recorded for this host first (as OpenSSH does). */
function orderHostKeyAlgorithms(knownTypes: string[]): string[] {
  const first: string[] = [];
  for (const t of knownTypes) {
    const algos = t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t];
    for (const a of algos) if (HOST_KEYS.includes(a) && !first.includes(a)) first.push(a);
  }
  return [...first, ...HOST_KEYS.filter((a) => !first.includes(a))];
}

interface KeyAttempt {
  label: string;
  auth: AnyAuthMethod;
}

function buildAuthAttempts(o: OpenClientOptions): { attempts: KeyAttempt[]; skipped: string[] } {
  const user = o.target.user;
  const attempts: KeyAttempt[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const addFile = (file: string, explicit: boolean): void => {
    if (seen.has(file)) return;
    seen.add(file);
    if (!existsSync(file)) {
      if (explicit) skipped.push(`${file} (missing)`);
      return;
    }
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (e) {
      skipped.push(`${file} (unreadable: ${(e as Error).message})`);
      return;
    }
    const parsed = utils.parseKey(data);
    if (parsed instanceof Error) {
      skipped.push(`${file} (${/encrypt|passphrase/i.test(parsed.message) ? 'encrypted, no passphrase' : parsed.message})`);
      return;
    }
    attempts.push({ label: `publickey ${file}`, auth: { type: 'publickey', username: user, key: data } });
  };
  for (const f of o.target.identityFiles) addFile(f, true);
  if (o.agent) attempts.push({ label: `agent ${o.agent}`, auth: { type: 'agent', username: user, agent: o.agent } });
  for (const f of o.defaultIdentityFiles) addFile(f, false);
  return { attempts, skipped };
}

/** Connect, verify the host key, authenticate. Errors are typed (HostUnreachable, AuthFailed, HostKeyMismatch…). */
export async function openClient(o: OpenClientOptions): Promise<ClientType> {
  const t = o.target;
  const keyName = hostKeyName(t.address, t.port);
  const where = `${t.address}:${t.port}${t.jump ? ` via ${t.jump.address}:${t.jump.port}` : ''}`;
  const { attempts, skipped } = buildAuthAttempts(o);
  const tried: string[] = [];
  const knownTypes =
    o.knownHostsFile && o.hostKeyPolicy !== 'off' ? await readKnownKeyTypes(o.knownHostsFile, keyName) : [];

  return new Promise<ClientType>((resolve, reject) => {
    const client = new Client();
    let hostKeyError: unknown;
    let done = false;
    const settle = (err: unknown, c?: ClientType): void => {
      if (done) return;
      done = true;
      o.signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) {
        client.removeAllListeners('ready');
        client.on('error', () => {}); // late errors after giving up
        client.destroy();
        const tr = [...tried, ...skipped.map((s) => `skipped ${s}`)];
        reject(mapConnectError(hostKeyError ?? err, { host: t.name, address: where, user: t.user, tried: tr }));
      } else resolve(c as ClientType);
    };
    const onAbort = (): void => settle(o.signal?.reason ?? new Error('aborted'));
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });

    client.once('ready', () => settle(undefined, client));
    client.on('error', (err) => settle(err));
    client.once('close', () => settle(new Error(`connection to ${where} closed during the handshake`)));

    const cfg: ConnectConfig = {
      username: t.user,
      readyTimeout: o.readyTimeoutMs,
      keepaliveInterval: o.keepaliveInterval,
      keepaliveCountMax: o.keepaliveCountMax,
      algorithms: {
        kex: KEX,
        serverHostKey: orderHostKeyAlgorithms(knownTypes),
        cipher: CIPHERS,
      } as Algorithms,
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void): void => {
        (client as ClientType & { labrigHostKey?: Buffer }).labrigHostKey = key; // kept: a pool re-checks it when known_hosts changes
        if (!o.knownHostsFile || o.hostKeyPolicy === 'off') return verify(true);
        verifyHostKey({ file: o.knownHostsFile, policy: o.hostKeyPolicy, host: t.name, name: keyName, key }).then(
          () => verify(true),
          (e: unknown) => {
            hostKeyError = e;
            verify(false);
          },
        );
      },
      authHandler: (_methodsLeft, _partial, next) => {
        const a = attempts.shift();
        if (!a) return (next as unknown as (v: false) => void)(false);
        tried.push(a.label);
        next(a.auth);
      },
    };
    if (o.sock) cfg.sock = o.sock;
    else {
      cfg.host = t.address;
      cfg.port = t.port;
    }
    try {
      client.connect(cfg);
      // Small writes go out at once: with Nagle's algorithm and the peer's delayed ACK every request
      // on a connection waited ~40 ms (one `exec true`: 45 ms, 3 ms with TCP_NODELAY).
      client.setNoDelay(true);
    } catch (e) {
      settle(e);
    }
  });
}
