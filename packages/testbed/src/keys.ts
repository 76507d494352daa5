/** ed25519 key pairs made with ssh-keygen: the client key and each host's host key. */
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { execa } from 'execa';
import { TestbedError, describeError } from './errors.js';

async function keygen(file: string, comment: string): Promise<void> {
  try {
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { stdin: 'ignore' });
  } catch (err) {
    throw new TestbedError('KEYGEN', `ssh-keygen could not make ${file}: ${describeError(err)}`, { cause: err });
  }
}

/** Makes `file` and `file.pub` unless both exist. */
export async function ensureKeyPair(file: string, comment: string): Promise<void> {
  if (existsSync(file) && existsSync(`${file}.pub`)) return;
  await rm(file, { force: true });
  await rm(`${file}.pub`, { force: true });
  await keygen(file, comment);
}

/** Replaces the pair at `file` with a new one (made beside it, then renamed into place). */
export async function replaceKeyPair(file: string, comment: string): Promise<void> {
  const tmp = `${file}.new`;
  await rm(tmp, { force: true });
  await rm(`${tmp}.pub`, { force: true });
  await keygen(tmp, comment);
  await rename(`${tmp}.pub`, `${file}.pub`);
  await rename(tmp, file);
}

/** SHA256 fingerprint of a public (or private) key file, e.g. `SHA256:abc...`. */
export async function fingerprint(file: string): Promise<string> {
  try {
    const { stdout } = await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { stdin: 'ignore' });
    const fp = stdout.split(/\s+/)[1];
    if (!fp) throw new Error(`unexpected ssh-keygen output: ${stdout}`);
    return fp;
  } catch (err) {
    throw new TestbedError('KEYGEN', `cannot read the fingerprint of ${file}: ${describeError(err)}`, { cause: err });
  }
}
