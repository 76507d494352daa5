/**
 * The deployment key against real sshd hosts (127.0.142.1-3:2500): made locally, authorized on
 * every host's own ~/.ssh/authorized_keys, logging in with it (labrig's pool, and OpenSSH from one
 * host to another as the coordinator does), revoked by its exact marker, deleted locally.
 * The tests run in order and share state: tb-0 is host A (holds the private half), tb-2 has a
 * user-written authorized_keys (no final newline) and the key of another deployment, `e2e2`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AuthFailed, quoteArg } from '@labrig/core';
import type { Host, Remote } from '@labrig/core';
import type { TestbedHost } from '@labrig/testbed';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEPLOY_KEYS_DIR,
  authorizeDeployKey,
  deleteDeployKey,
  ensureDeployKey,
  placeDeployKey,
  revokeDeployKey,
} from './deploy-key.js';
import type { DeployKey } from './deploy-key.js';
import type { SshPool } from './pool.js';
import { useTestbed } from './testing/testbed.js';

const tb = useTestbed('deploykey', { hosts: 3, addressBase: '127.0.142.0', port: 2500 });
const DEPLOYMENT = 'e2e';
const OTHER = 'e2e2';

let root: string; // local workspace root holding .labrig/deploy-keys/
let pool: SshPool; // logs in with the testbed's key (the user's own access)
let remotes: Remote[];
let th: TestbedHost[];
let key: DeployKey;
let otherKey: DeployKey;
/** A user-written line on tb-2, written without its final newline. */
let unrelatedLine: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'labrig-deploy-key-root-'));
  th = tb.state.hosts;
  pool = tb.pool();
  remotes = await Promise.all(tb.hosts.map((h) => pool.connect(h)));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** The host as an inventory entry with no identity file of its own: only the pool's default files are tried. */
const bare = (i: number): Host => ({ ...(tb.hosts[i] as Host), identityFiles: [] });

/** A fresh pool that can only log in with `k` (no agent, no ssh config, no testbed key). */
async function withKeyPool<T>(k: DeployKey, fn: (p: SshPool) => Promise<T>): Promise<T> {
  const p = tb.pool({ agent: false, sshConfigFile: false, defaultIdentityFiles: [k.privateFile] });
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}

const loginAs = (k: DeployKey, i: number): Promise<string> =>
  withKeyPool(k, async (p) => (await (await p.connect(bare(i))).exec(['id', '-un'])).stdout.trim());

const loginError = (k: DeployKey, i: number): Promise<unknown> =>
  withKeyPool(k, (p) => p.connect(bare(i))).then(
    () => new Error('logged in'),
    (e: unknown) => e,
  );

const authorizedKeys = async (r: Remote): Promise<string> =>
  (await r.shell('cat "$HOME/.ssh/authorized_keys"')).stdout;

/**
 * Times host i's sshd logged a login with the key of fingerprint `fp` (its -E log ends lines with
 * \r), and checked that the key was found in the user's own ~/.ssh/authorized_keys.
 */
const acceptedWith = (i: number, fp: string): number => {
  const lines = readFileSync((th[i] as TestbedHost).logFile, 'utf8').split('\n').map((l) => l.trimEnd());
  const found = lines.filter((l) => l.startsWith('Accepted key ') && l.includes(` ${fp} found at ${th[i]!.home}/.ssh/authorized_keys:`));
  const accepted = lines.filter((l) => l.startsWith('Accepted publickey for ') && l.endsWith(` ${fp}`));
  expect(found.length, `tb-${i}: key found in ~/.ssh/authorized_keys`).toBeGreaterThanOrEqual(accepted.length);
  return accepted.length;
};

describe('ensureDeployKey', () => {
  it('makes the pair once (0600 private, marked public line, same key on the next call)', () => {
    key = ensureDeployKey(root, DEPLOYMENT);
    const dir = path.join(root, DEPLOY_KEYS_DIR, DEPLOYMENT);
    expect(key.privateFile).toBe(path.join(dir, 'id_ed25519'));
    expect(existsSync(key.privateFile)).toBe(true);
    expect(existsSync(`${key.privateFile}.pub`)).toBe(true);
    expect(existsSync(`${key.privateFile}.tmp`)).toBe(false);
    expect(statSync(key.privateFile).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(key.marker).toBe('labrig-deploy-key:e2e');
    expect(key.publicLine).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ labrig-deploy-key:e2e$/);
    expect(readFileSync(`${key.privateFile}.pub`, 'utf8')).toBe(`${key.publicLine}\n`);
    expect(readFileSync(key.privateFile, 'utf8')).toContain('-----BEGIN OPENSSH PRIVATE KEY-----');
    // The fingerprint is the one OpenSSH prints, and the private half belongs to the public line.
    const lf = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', key.privateFile], { encoding: 'utf8' });
    expect(lf.split(/\s+/)[1]).toBe(key.fingerprint);
    const derived = execFileSync('ssh-keygen', ['-y', '-f', key.privateFile], { encoding: 'utf8' }).trim();
    expect(derived.split(/\s+/).slice(0, 2)).toEqual(key.publicLine.split(/\s+/).slice(0, 2));

    const privateBefore = readFileSync(key.privateFile, 'utf8');
    chmodSync(key.privateFile, 0o644); // a loosened mode is put back
    const again = ensureDeployKey(root, DEPLOYMENT);
    expect(again).toEqual(key);
    expect(readFileSync(key.privateFile, 'utf8')).toBe(privateBefore);
    expect(statSync(key.privateFile).mode & 0o777).toBe(0o600);

    otherKey = ensureDeployKey(root, OTHER);
    expect(otherKey.fingerprint).not.toBe(key.fingerprint);
    expect(otherKey.publicLine.endsWith(' labrig-deploy-key:e2e2')).toBe(true);
  });

  it('refuses a deployment name that cannot name a folder or a marker', () => {
    for (const bad of ['a/b', 'a b', 'e2e ', '', '../x', '.hidden', 'x\ny', 'a:b', 'x'.repeat(65)]) {
      expect(() => ensureDeployKey(root, bad), JSON.stringify(bad)).toThrow(/cannot name a key/);
    }
    expect(existsSync(path.join(root, DEPLOY_KEYS_DIR, 'a'))).toBe(false);
    expect(existsSync(path.join(root, '.labrig', 'x'))).toBe(false);
  });
});

describe('authorizeDeployKey', () => {
  it('before: the key does not log in (AuthFailed)', async () => {
    for (let i = 0; i < 3; i++) {
      const err = await loginError(key, i);
      expect(err, `tb-${i}`).toBeInstanceOf(AuthFailed);
      expect((err as AuthFailed).host).toBe(th[i]!.name);
      expect((err as Error).message).toContain(key.privateFile);
    }
  });

  it('adds one marked line on each host the first time, nothing the second', async () => {
    // tb-2: the user's own file, whose last line has no newline.
    const unrelated = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'someone@laptop' });
    unrelatedLine = unrelated.public.trim();
    await remotes[2]!.shell(
      `umask 077 && mkdir -p "$HOME/.ssh" && printf '%s' ${quoteArg(unrelatedLine)} > "$HOME/.ssh/authorized_keys"`,
    );
    expect(await authorizedKeys(remotes[2]!)).toBe(unrelatedLine); // really no final newline

    expect(await Promise.all(remotes.map((r) => authorizeDeployKey(r, key)))).toEqual([true, true, true]);
    expect(await Promise.all(remotes.map((r) => authorizeDeployKey(r, key)))).toEqual([false, false, false]);

    const b64 = key.publicLine.split(' ')[1]!;
    const expected = `restrict ssh-ed25519 ${b64} labrig-deploy-key:e2e`;
    for (let i = 0; i < 3; i++) {
      const text = await authorizedKeys(remotes[i]!);
      expect(text.endsWith('\n'), `tb-${i}`).toBe(true);
      const lines = text.trimEnd().split('\n');
      expect(lines.filter((l) => l.includes(b64)), `tb-${i}`).toEqual([expected]);
      expect(lines, `tb-${i}`).toEqual(i === 2 ? [unrelatedLine, expected] : [expected]);
      const modes = await remotes[i]!.shell('stat -c %a "$HOME/.ssh" "$HOME/.ssh/authorized_keys"');
      expect(modes.stdout.split('\n').slice(0, 2), `tb-${i}`).toEqual(['700', '600']);
    }
  });

  it('the key logs in to each host as its user (only with the key, restricted: no pty)', async () => {
    for (let i = 0; i < 3; i++) {
      const before = acceptedWith(i, key.fingerprint);
      expect(await loginAs(key, i)).toBe(th[i]!.user);
      expect(acceptedWith(i, key.fingerprint), `tb-${i} sshd log`).toBe(before + 1);
    }
    // `restrict`: sshd refuses the pty; labrig's own login (testbed key) gets one.
    await withKeyPool(key, async (p) => {
      const r = await p.connect(bare(1));
      const err = await r.exec(['tty'], { pty: true, allowFailure: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/pseudo-terminal/);
      expect((await r.exec(['tty'], { allowFailure: true })).stdout.trim()).toBe('not a tty');
    });
    expect((await remotes[1]!.exec(['tty'], { pty: true })).stdout.trim()).toMatch(/^\/dev\/pts\/\d+$/);
  });
});

describe('placeDeployKey: one host reaches the others with OpenSSH', () => {
  it('tb-0 holds the private half (0600) and logs in to tb-1 and tb-2 with it', async () => {
    const a = remotes[0]!;
    const placed = await placeDeployKey(a, key);
    expect(placed).toBe('.labrig/keys/e2e');
    const st = await a.shell('stat -c "%a %U" "$HOME/.labrig/keys/e2e" "$HOME/.labrig/keys" "$HOME/.labrig"; cat "$HOME/.labrig/keys/e2e"');
    const [fileMode, keysDirMode, labrigDirMode] = st.stdout.split('\n');
    expect(fileMode).toBe(`600 ${th[0]!.user}`);
    expect(keysDirMode).toBe(`700 ${th[0]!.user}`);
    expect(labrigDirMode).toBe(`700 ${th[0]!.user}`);
    expect(st.stdout.split('\n').slice(3).join('\n')).toBe(readFileSync(key.privateFile, 'utf8'));
    // Placed again over a loosened file (same content: the transfer is skipped), the mode is put back.
    await a.shell('chmod 644 "$HOME/.labrig/keys/e2e"');
    expect(await placeDeployKey(a, key)).toBe(placed);
    expect((await a.shell('stat -c %a "$HOME/.labrig/keys/e2e"')).stdout.trim()).toBe('600');

    for (const b of [1, 2]) {
      const hb = th[b]!;
      const before = acceptedWith(b, key.fingerprint);
      const cmd = [
        'ssh -i ~/.labrig/keys/e2e -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes',
        `-p ${hb.port} ${quoteArg(`${hb.user}@${hb.address}`)} id -un`,
      ].join(' ');
      const res = await a.shell(cmd, { allowFailure: true });
      expect(res.exitCode, res.stderr).toBe(0);
      expect(res.stdout).toBe(`${hb.user}\n`);
      expect(acceptedWith(b, key.fingerprint), `tb-${b} sshd log`).toBe(before + 1);
    }
  });
});

describe('revokeDeployKey', () => {
  it('removes exactly the marked lines and the placed private half', async () => {
    // Another deployment's key beside it on tb-2 (its marker starts with this one's).
    expect(await authorizeDeployKey(remotes[2]!, otherKey)).toBe(true);
    expect(await loginAs(otherKey, 2)).toBe(th[2]!.user);
    const otherLine = `restrict ssh-ed25519 ${otherKey.publicLine.split(' ')[1]} labrig-deploy-key:e2e2`;

    // A build host also holds the hosts' keys beside the private half (host-copy): it goes too.
    await remotes[0]!.shell('printf "x\\n" > "$HOME/.labrig/keys/e2e.known_hosts"');
    const results = await Promise.all(remotes.map((r) => revokeDeployKey(r, DEPLOYMENT)));
    expect(results).toEqual([
      { lines: 1, privateKey: true },
      { lines: 1, privateKey: false },
      { lines: 1, privateKey: false },
    ]);
    expect((await remotes[0]!.shell('test -e "$HOME/.labrig/keys/e2e"', { allowFailure: true })).exitCode).not.toBe(0);
    expect((await remotes[0]!.shell('test -e "$HOME/.labrig/keys/e2e.known_hosts"', { allowFailure: true })).exitCode).not.toBe(0);

    const b64 = key.publicLine.split(' ')[1]!;
    for (let i = 0; i < 3; i++) {
      const text = await authorizedKeys(remotes[i]!);
      expect(text.includes(b64), `tb-${i}`).toBe(false);
      expect(text, `tb-${i}`).toBe(i === 2 ? `${unrelatedLine}\n${otherLine}\n` : '');
      expect((await remotes[i]!.shell('stat -c %a "$HOME/.ssh/authorized_keys"')).stdout.trim()).toBe('600');
    }

    // The key no longer logs in anywhere; the other deployment's still does.
    for (let i = 0; i < 3; i++) expect(await loginError(key, i), `tb-${i}`).toBeInstanceOf(AuthFailed);
    expect(await loginAs(otherKey, 2)).toBe(th[2]!.user);

    // Again: nothing left to remove.
    expect(await Promise.all(remotes.map((r) => revokeDeployKey(r, DEPLOYMENT)))).toEqual(
      Array(3).fill({ lines: 0, privateKey: false }),
    );
    expect(await authorizedKeys(remotes[2]!)).toBe(`${unrelatedLine}\n${otherLine}\n`);
  });
});

describe('revokeDeployKey on files edited by hand', () => {
  it('removes a marked line that ends in CR or blanks, and keeps a symlinked authorized_keys a symlink', async () => {
    const r = remotes[1]!;
    const b64 = key.publicLine.split(' ')[1]!;
    await r.shell(
      [
        'mkdir -p "$HOME/.ssh/real"',
        'rm -f "$HOME/.ssh/authorized_keys"',
        `printf '%s\\n%s\\r\\n%s  \\n' ${quoteArg(unrelatedLine)} ${quoteArg(`restrict ssh-ed25519 ${b64} labrig-deploy-key:e2e`)} ${quoteArg(`ssh-ed25519 ${b64} labrig-deploy-key:e2e`)} > "$HOME/.ssh/real/keys"`,
        'ln -s real/keys "$HOME/.ssh/authorized_keys"',
      ].join('\n'),
    );
    expect(await revokeDeployKey(r, DEPLOYMENT)).toEqual({ lines: 2, privateKey: false });
    expect((await r.shell('test -L "$HOME/.ssh/authorized_keys" && echo link')).stdout.trim()).toBe('link');
    expect((await r.shell('cat "$HOME/.ssh/real/keys"')).stdout).toBe(`${unrelatedLine}\n`);
    await r.shell('rm -f "$HOME/.ssh/authorized_keys" && rm -rf "$HOME/.ssh/real"');
  });
});

describe('deleteDeployKey', () => {
  it('removes the local folder of that deployment only', () => {
    deleteDeployKey(root, DEPLOYMENT);
    expect(existsSync(path.join(root, DEPLOY_KEYS_DIR, DEPLOYMENT))).toBe(false);
    expect(existsSync(otherKey.privateFile)).toBe(true);
    deleteDeployKey(root, DEPLOYMENT); // nothing left: no error
    // Made again, it is a new key.
    const fresh = ensureDeployKey(root, DEPLOYMENT);
    expect(fresh.fingerprint).not.toBe(key.fingerprint);
    deleteDeployKey(root, DEPLOYMENT);
    deleteDeployKey(root, OTHER);
    expect(existsSync(path.join(root, DEPLOY_KEYS_DIR))).toBe(true);
    expect(existsSync(path.join(root, DEPLOY_KEYS_DIR, OTHER))).toBe(false);
  });
});
