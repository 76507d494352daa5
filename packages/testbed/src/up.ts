/** `up`: bring the testbed to the asked shape (idempotent: what already runs as asked is left alone). */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TestbedError } from './errors.js';
import { ensureKeyPair } from './keys.js';
import {
  DEFAULT_ADDRESS_BASE,
  DEFAULT_PORT,
  LOGIN_HOST_NAME,
  checkAddressBase,
  hostAddress,
  hostName,
  sharedUserName,
  testbedId,
  userName,
} from './naming.js';
import { applyUplink, ensureNetns, parseRate, removeNetns } from './netns.js';
import { withLock } from './lock.js';
import { mapLimit } from './pool.js';
import { startRegistry, startS3, startSlurm } from './services.js';
import { knownHostsPath, sshConfigPath, writeSshFiles } from './sshconfig.js';
import { hostFiles, sshdPid, startSshd, stopSshd, writeConfig } from './sshd.js';
import { allHosts, readState, saveState } from './state.js';
import type { TestbedHost, TestbedNetns, TestbedState, UpOptions } from './types.js';
import { ensureHome, ensureUser, killProcessesOfHome, lookupUser, removeUser } from './users.js';

export type NormalizedOptions = TestbedState['options'];

export interface UpProgress {
  /** `hosts`: sshds being started (done of total); `message`: anything else worth a line. */
  kind: 'hosts' | 'message';
  done?: number;
  total?: number;
  message: string;
}

export interface UpHooks {
  onProgress?: (p: UpProgress) => void;
  /** Parallel sshd starts. Default 16. */
  concurrency?: number;
}

const MAX_HOSTS = 250;

/** Checks and fills defaults; errors name the option and the bad value. */
export function normalizeOptions(opts: UpOptions): NormalizedOptions {
  const hosts = opts.hosts;
  if (!Number.isInteger(hosts) || hosts < 0 || hosts > MAX_HOSTS) {
    throw new TestbedError('BAD_OPTION', `--hosts: "${String(hosts)}" is not a whole number between 0 and ${MAX_HOSTS}`);
  }
  const login = opts.login ?? false;
  const behind = opts.hostsBehindLogin ?? 0;
  if (!Number.isInteger(behind) || behind < 0 || behind > hosts) {
    throw new TestbedError('BAD_OPTION', `--behind: "${String(behind)}" must be a whole number between 0 and --hosts (${hosts})`);
  }
  if (behind > 0 && !login) {
    throw new TestbedError('BAD_OPTION', `--behind: ${behind} hosts behind a login host need --login`);
  }
  const port = opts.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TestbedError('BAD_OPTION', `--port: "${String(port)}" is not a port number (1-65535)`);
  }
  const addressBase = opts.addressBase ?? DEFAULT_ADDRESS_BASE;
  checkAddressBase(addressBase, hosts);
  const uplink = opts.uplink ?? '';
  if (uplink && parseRate(uplink) === undefined) throw new TestbedError('BAD_OPTION', `--uplink: "${uplink}" is not a rate like 500kbit, 20mbit or 1gbit`);
  if (uplink && !login) throw new TestbedError('BAD_OPTION', `--uplink: ${uplink} limits the link into the login host's network namespace: it needs --login (and hosts --behind it)`);
  return {
    hosts,
    login,
    hostsBehindLogin: behind,
    s3: opts.s3 ?? false,
    registry: opts.registry ?? false,
    slurm: opts.slurm ?? false,
    s3Buckets: opts.s3Buckets ?? [],
    addressBase,
    port,
    uplink,
    sharedUser: opts.sharedUser ?? false,
  };
}

/** sshd reads authorized_keys as the host user: every ancestor of dir must be traversable. */
async function checkTraversable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (let cur = path.dirname(dir); ; cur = path.dirname(cur)) {
    const st = await stat(cur);
    if ((st.mode & 0o001) === 0) {
      throw new TestbedError(
        'PERMISSION',
        `${cur} is not traversable by other users (mode ${(st.mode & 0o777).toString(8)}): the host users cannot reach ${dir}`,
        { hint: `Run \`chmod o+x ${cur}\`, or choose another --dir.` },
      );
    }
    if (path.dirname(cur) === cur) break;
  }
}

/** The passwd home of the shared user (`sharedUser`): each host's own home is bind-mounted over it. */
function sharedHome(dir: string, id: string): string {
  return path.join(dir, 'users', sharedUserName(id));
}

function hostRecord(dir: string, id: string, o: NormalizedOptions, index: number, ns?: TestbedNetns): TestbedHost {
  const name = index < 0 ? LOGIN_HOST_NAME : hostName(index);
  const hdir = path.join(dir, 'hosts', name);
  const behind = index >= 0 && o.login && index >= o.hosts - o.hostsBehindLogin;
  const host: TestbedHost = {
    name,
    address: index < 0 ? (ns?.nsAddress ?? '') : hostAddress(o.addressBase, index),
    port: o.port,
    user: o.sharedUser ? sharedUserName(id) : userName(id, index),
    home: path.join(hdir, 'home'),
    ...(o.sharedUser ? { homeMount: sharedHome(dir, id) } : {}),
    identityFile: path.join(dir, 'id_ed25519'),
    pidFile: path.join(hdir, 'sshd.pid'),
    logFile: path.join(hdir, 'sshd.log'),
    index,
    configFile: path.join(hdir, 'sshd_config'),
    hostKeyFile: path.join(hdir, 'ssh_host_ed25519_key'),
  };
  if (behind) {
    host.behindLogin = true;
    host.jump = LOGIN_HOST_NAME;
  }
  if ((behind || index < 0) && ns) host.netns = ns.name;
  return host;
}

/**
 * Stops a host's sshd, removes its home and its user — a user that other hosts of the state share
 * stays (only this host's processes of it are killed).
 */
export async function removeHost(state: TestbedState, host: TestbedHost): Promise<void> {
  await stopSshd(host);
  const shared = allHosts(state).some((h) => h.name !== host.name && h.user === host.user);
  if (shared) {
    if (host.homeMount) await killProcessesOfHome(host.user, host.home, host.homeMount);
  } else if (state.users.includes(host.user)) {
    await removeUser(host.user);
    state.users = state.users.filter((u) => u !== host.user);
    if (host.homeMount) await rm(host.homeMount, { recursive: true, force: true });
  }
  await rm(host.home, { recursive: true, force: true });
  await rm(host.pidFile, { force: true });
}

export async function up(opts: UpOptions, hooks: UpHooks = {}): Promise<TestbedState> {
  const o = normalizeOptions(opts);
  const dir = path.resolve(opts.dir);
  return withLock(dir, () => upLocked(o, dir, hooks));
}

async function upLocked(o: NormalizedOptions, dir: string, hooks: UpHooks): Promise<TestbedState> {
  const progress = hooks.onProgress ?? (() => undefined);
  const id = testbedId(dir);
  await mkdir(dir, { recursive: true });
  await checkTraversable(dir);

  const old = await readState(dir);
  const state: TestbedState = {
    version: 1,
    dir,
    id,
    options: o,
    hosts: [],
    users: [...(old?.users ?? [])],
    identityFile: path.join(dir, 'id_ed25519'),
    authorizedKeysFile: path.join(dir, 'authorized_keys'),
    sshConfigFile: sshConfigPath(dir),
    knownHostsFile: knownHostsPath(dir),
  };
  // Until the new shape is in place, the state keeps naming what runs (so `down` after a failed `up` stops it).
  if (old) state.hosts = [...old.hosts];
  if (old?.login) state.login = old.login;
  if (old?.netns) state.netns = old.netns;
  if (old?.s3) state.s3 = old.s3;
  if (old?.registry) state.registry = old.registry;
  if (old?.slurm) state.slurm = old.slurm;

  try {
    // Client key, authorized for every host user.
    await ensureKeyPair(state.identityFile, `labrig-testbed-${id}`);
    const pub = await readFile(`${state.identityFile}.pub`, 'utf8');
    const authorized = existsSync(state.authorizedKeysFile) ? await readFile(state.authorizedKeysFile, 'utf8') : '';
    if (authorized !== pub) await writeFile(state.authorizedKeysFile, pub, { mode: 0o644 });
    await chmod(state.authorizedKeysFile, 0o644);

    if (o.login) {
      state.netns = await ensureNetns(id, old?.netns);
      state.netns = await applyUplink(state.netns, o.uplink);
      await saveState(state);
    }

    const wanted = Array.from({ length: o.hosts }, (_, i) => hostRecord(dir, id, o, i, state.netns));
    if (o.login) wanted.push(hostRecord(dir, id, o, -1, state.netns));
    const wantedNames = new Set(wanted.map((h) => h.name));
    const oldByName = new Map((old ? allHosts(old) : []).map((h) => [h.name, h]));

    // Hosts no longer asked for go first (their users and sshds).
    const gone = [...oldByName.values()].filter((h) => !wantedNames.has(h.name));
    if (gone.length > 0) progress({ kind: 'message', message: `removing ${gone.length} host(s)` });
    for (const h of gone) {
      await removeHost(state, h);
      state.hosts = state.hosts.filter((x) => x.name !== h.name);
      if (state.login?.name === h.name) delete state.login;
    }

    // Users no host uses any more (`sharedUser` turned on or off): removed with their processes;
    // a host whose user changed starts with a clean home.
    const wantedUsers = new Set(wanted.map((h) => h.user));
    for (const user of state.users.filter((u) => !wantedUsers.has(u))) {
      await removeUser(user);
      state.users = state.users.filter((u) => u !== user);
      for (const h of oldByName.values()) if (h.user === user && h.homeMount) await rm(h.homeMount, { recursive: true, force: true });
    }
    for (const h of wanted) {
      const before = oldByName.get(h.name);
      if (before && before.user !== h.user) await rm(h.home, { recursive: true, force: true });
    }

    // Users: one at a time (useradd locks /etc/passwd).
    // An existing user whose home is ours is a leftover of this same testbed: adopted, so `down` removes it.
    // Hosts sharing a user: the user once (its passwd home is the mount point), then each host's own home.
    const ensured = new Set<string>();
    for (const h of wanted) {
      if (!ensured.has(h.user)) await ensureUser(h.user, h.homeMount ?? h.home);
      ensured.add(h.user);
      if (h.homeMount) {
        const entry = await lookupUser(h.user);
        if (!entry) throw new TestbedError('USER', `user ${h.user} missing from /etc/passwd after useradd`);
        await ensureHome(h.home, entry);
      }
      if (!state.users.includes(h.user)) state.users.push(h.user);
    }
    state.hosts = wanted.filter((h) => (h.index ?? 0) >= 0);
    const login = wanted.find((h) => (h.index ?? 0) < 0);
    if (login) state.login = login;
    await saveState(state);

    // Host keys, configs, sshds: in parallel.
    let done = 0;
    const total = wanted.length;
    progress({ kind: 'hosts', done, total, message: `starting ${total} host(s)` });
    await mapLimit(wanted, hooks.concurrency ?? 16, async (h) => {
      await mkdir(path.dirname(h.pidFile), { recursive: true, mode: 0o755 });
      await ensureKeyPair(hostFiles(h).hostKeyFile, `${h.name}@labrig-testbed-${id}`);
      const changed = await writeConfig(h, state.authorizedKeysFile);
      const pid = await sshdPid(h);
      if (pid === undefined || changed) {
        if (pid !== undefined) await stopSshd(h);
        if (!oldByName.has(h.name)) await writeFile(h.logFile, '', { mode: 0o644 });
        await startSshd(h);
      }
      done++;
      progress({ kind: 'hosts', done, total, message: `${h.name} up (${done}/${total})` });
    });
    await writeSshFiles(state);
    if (!o.login && state.netns) {
      await removeNetns(state.netns);
      delete state.netns;
    }
    await saveState(state);

    // Services, when asked (each start is idempotent).
    if (o.s3) {
      progress({ kind: 'message', message: 'starting S3' });
      state.s3 = await startS3(dir, { buckets: o.s3Buckets });
    }
    if (o.registry) {
      progress({ kind: 'message', message: 'starting the OCI registry' });
      state.registry = await startRegistry(dir);
    }
    if (o.slurm) {
      // The cluster's login node must reach slurmctld on this machine's loopback: a host not behind tb-login.
      const loginHost = state.hosts.find((h) => !h.behindLogin);
      if (!loginHost) throw new TestbedError('BAD_OPTION', '--slurm needs a host not behind the login host', { hint: 'Give --hosts more than --behind.' });
      progress({ kind: 'message', message: 'starting Slurm' });
      state.slurm = await startSlurm(dir, { loginHost });
    }
    return state;
  } finally {
    await saveState(state);
  }
}
