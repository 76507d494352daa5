/**
 * `<dir>/ssh_config` and `<dir>/known_hosts`: how OpenSSH reaches every host by name
 * (`ssh -F <dir>/ssh_config tb-3`), ProxyJump through tb-login included, host keys checked.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hostFiles } from './sshd.js';
import { allHosts } from './state.js';
import type { TestbedHost, TestbedState } from './types.js';

export function sshConfigPath(dir: string): string {
  return path.join(dir, 'ssh_config');
}

export function knownHostsPath(dir: string): string {
  return path.join(dir, 'known_hosts');
}

function q(value: string): string {
  return /[\s"]/.test(value) ? `"${value}"` : value;
}

/** `[address]:port` as known_hosts spells a host on a non-22 port. */
export function knownHostsName(host: TestbedHost): string {
  return host.port === 22 ? host.address : `[${host.address}]:${host.port}`;
}

export function renderSshConfig(state: TestbedState): string {
  const lines = [`# labrig testbed at ${state.dir}; written by up`, ''];
  for (const h of allHosts(state)) {
    lines.push(
      `Host ${h.name}`,
      `  HostName ${h.address}`,
      `  Port ${h.port}`,
      `  User ${h.user}`,
      `  IdentityFile ${q(h.identityFile)}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${q(knownHostsPath(state.dir))}`,
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '  LogLevel ERROR',
    );
    if (h.jump) lines.push(`  ProxyJump ${h.jump}`);
    lines.push('');
  }
  return lines.join('\n');
}

async function knownHostsLine(h: TestbedHost): Promise<string> {
  const pub = (await readFile(`${hostFiles(h).hostKeyFile}.pub`, 'utf8')).trim().split(/\s+/);
  return `${knownHostsName(h)} ${pub[0] ?? ''} ${pub[1] ?? ''}`;
}

/** Writes both files from the state and the host keys on disk. */
export async function writeSshFiles(state: TestbedState): Promise<void> {
  const known = await Promise.all(allHosts(state).map(knownHostsLine));
  await writeFile(knownHostsPath(state.dir), known.join('\n') + '\n', { mode: 0o644 });
  await writeFile(sshConfigPath(state.dir), renderSshConfig(state), { mode: 0o644 });
}
