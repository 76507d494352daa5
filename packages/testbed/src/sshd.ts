/** One real /usr/sbin/sshd per host: its config, start (daemonized, own pid file and log), stop, readiness. */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { TestbedError, describeError } from './errors.js';
import { descendants, isRunning, readPidFile, terminate } from './proc.js';
import { probe } from './probe.js';
import type { TestbedHost } from './types.js';

export const SSHD = '/usr/sbin/sshd';
const PRIVSEP_DIR = '/run/sshd';

/** curve25519 first; sntrup761 left out on purpose (7x the CPU here, and the client picks the first common one). */
export const KEX_ALGORITHMS = [
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group-exchange-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group14-sha256',
];

/** The host's sshd_config and host key paths (beside its pid file unless the record names them). */
export function hostFiles(host: TestbedHost): { configFile: string; hostKeyFile: string } {
  const dir = path.dirname(host.pidFile);
  return {
    configFile: host.configFile ?? path.join(dir, 'sshd_config'),
    hostKeyFile: host.hostKeyFile ?? path.join(dir, 'ssh_host_ed25519_key'),
  };
}

function quote(value: string): string {
  if (/["\n\r]/.test(value)) {
    throw new TestbedError('BAD_OPTION', `path ${JSON.stringify(value)} cannot go into sshd_config (quote or newline)`, {
      hint: 'Use a --dir whose path has no double quote or newline.',
    });
  }
  return `"${value}"`;
}

/** The sshd_config text of a host. */
export function renderConfig(host: TestbedHost, authorizedKeysFile: string): string {
  return [
    `# labrig testbed host ${host.name}${host.netns ? ` (network namespace ${host.netns})` : ''}; written by up, do not edit`,
    // A change of home layout changes the file, so `up` restarts the sshd in the right mount namespace.
    ...(host.homeMount ? [`# own mount namespace: ${host.home} bind-mounted over ${host.homeMount}, the home of ${host.user}`] : []),
    `ListenAddress ${host.address}:${host.port}`,
    `HostKey ${quote(hostFiles(host).hostKeyFile)}`,
    `PidFile ${quote(host.pidFile)}`,
    'LogLevel VERBOSE',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin no',
    `AllowUsers ${host.user}`,
    // The testbed's key for every host, then the user's own file (where labrig's deployment key goes).
    `AuthorizedKeysFile ${quote(authorizedKeysFile)} .ssh/authorized_keys`,
    'StrictModes no',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'MaxStartups 100:30:200',
    'MaxSessions 10',
    'AllowTcpForwarding yes',
    'X11Forwarding no',
    `KexAlgorithms ${KEX_ALGORITHMS.join(',')}`,
    'Subsystem sftp internal-sftp',
    // Written by the Slurm service for the cluster's login host (SetEnv SLURM_CONF=...); the glob
    // matches nothing on other hosts, which sshd accepts.
    `Include ${quote(path.join(path.dirname(hostFiles(host).configFile), 'sshd_slurm.con[f]'))}`,
    '',
  ].join('\n');
}

/** Writes the config; true when it changed (a running sshd must then be restarted). */
export async function writeConfig(host: TestbedHost, authorizedKeysFile: string): Promise<boolean> {
  const text = renderConfig(host, authorizedKeysFile);
  const { configFile } = hostFiles(host);
  let old: string | undefined;
  try {
    old = await readFile(configFile, 'utf8');
  } catch {
    old = undefined;
  }
  if (old === text) return false;
  await writeFile(configFile, text, { mode: 0o644 });
  return true;
}

/** Pid of the host's listening sshd when it runs. */
export async function sshdPid(host: TestbedHost): Promise<number | undefined> {
  const pid = await readPidFile(host.pidFile);
  if (pid === undefined || !(await isRunning(pid))) return undefined;
  // A stale pid file may name a recycled pid: only an sshd counts.
  const exe = await readlink(`/proc/${pid}/exe`).catch(() => '');
  return exe === SSHD ? pid : undefined;
}

async function logTail(file: string, lines = 5): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * The command that starts the host's sshd: in its network namespace when it has one, and, when
 * hosts share a user (`homeMount`), in a new mount namespace (private: nothing propagates back)
 * where the host's own home is bind-mounted over the user's home first. The daemon, the
 * per-connection sshds and the sessions all inherit that mount namespace; a restart makes a new one.
 */
export function sshdArgv(host: TestbedHost): string[] {
  let argv = [SSHD, '-f', hostFiles(host).configFile, '-E', host.logFile];
  if (host.homeMount) {
    argv = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$1" "$2" && shift 2 && exec "$@"', 'sh', host.home, host.homeMount, ...argv];
  }
  return host.netns ? ['ip', 'netns', 'exec', host.netns, ...argv] : argv;
}

/**
 * Starts the host's sshd (daemonized) and waits until its pid file names a live process and
 * its port accepts TCP. Returns the pid.
 */
export async function startSshd(host: TestbedHost, timeoutMs = 20_000): Promise<number> {
  if (!existsSync(PRIVSEP_DIR)) await mkdir(PRIVSEP_DIR, { recursive: true, mode: 0o755 });
  await rm(host.pidFile, { force: true });
  const logSizeBefore = (await readFile(host.logFile, 'utf8').catch(() => '')).length;
  const [cmd, ...args] = sshdArgv(host);
  try {
    await execa(cmd as string, args, { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', timeout: timeoutMs });
  } catch (err) {
    throw new TestbedError(
      'SSHD_START',
      `sshd of ${host.name} did not start: ${describeError(err)}\n${await logTail(host.logFile)}`,
      { cause: err },
    );
  }
  const deadline = Date.now() + timeoutMs;
  let pid: number | undefined;
  for (;;) {
    pid = await sshdPid(host);
    if (pid !== undefined) break;
    const log = (await readFile(host.logFile, 'utf8').catch(() => '')).slice(logSizeBefore);
    if (/Cannot bind any address|fatal|error: Bind to port/i.test(log) && !/Server listening/.test(log)) {
      // The daemon is about to exit (or did): say why.
      throw new TestbedError('SSHD_START', `sshd of ${host.name} (${host.address}:${host.port}) failed:\n${log.trim()}`);
    }
    if (Date.now() >= deadline) {
      throw new TestbedError('TIMEOUT', `sshd of ${host.name}: no pid file ${host.pidFile} after ${timeoutMs} ms\n${log.trim()}`);
    }
    await sleep(15);
  }
  // The pid file is written after the listen sockets are bound; check the port answers all the same.
  for (;;) {
    const r = await probe(host.address, host.port, host.netns, 1000);
    if (r === 'open') return pid;
    if (!(await isRunning(pid))) {
      throw new TestbedError('SSHD_START', `sshd of ${host.name} exited after start:\n${await logTail(host.logFile)}`);
    }
    if (Date.now() >= deadline) {
      throw new TestbedError('TIMEOUT', `sshd of ${host.name}: ${host.address}:${host.port} not answering after ${timeoutMs} ms`);
    }
    await sleep(25);
  }
}

/** Stops the listener and every process under it (per-connection sshds, user sessions). */
export async function stopSshd(host: TestbedHost): Promise<void> {
  const pid = await sshdPid(host);
  if (pid !== undefined) {
    const kids = await descendants(pid);
    await terminate([pid, ...kids]);
  }
  await rm(host.pidFile, { force: true });
}

/** Stops only the listener (existing connections stay), e.g. to restart with a new host key. */
export async function stopListener(host: TestbedHost): Promise<void> {
  const pid = await sshdPid(host);
  if (pid !== undefined) await terminate([pid]);
  await rm(host.pidFile, { force: true });
}
