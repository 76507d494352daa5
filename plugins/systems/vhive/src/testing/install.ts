/**
 * The vHive fixtures for testbed hosts (each its own unix user): the fixture tools copied to a
 * folder every user can read (`fx`, its bin/ goes first on the hosts' PATH), and the fixtures'
 * shared state (`state`: calls.log, fail flags, the cluster, kn services) every user can write.
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function installFixtures(prefix: string): { fx: string; state: string } {
  const fx = mkdtempSync(join(tmpdir(), `${prefix}-fx-`));
  const state = mkdtempSync(join(tmpdir(), `${prefix}-state-`));
  chmodSync(fx, 0o755);
  cpSync(join(import.meta.dirname, 'fixtures'), fx, { recursive: true });
  for (const d of ['', 'fail', 'cluster', 'kn']) {
    mkdirSync(join(state, d), { recursive: true });
    chmodSync(join(state, d), 0o777);
  }
  writeFileSync(join(state, 'calls.log'), '');
  chmodSync(join(state, 'calls.log'), 0o666);
  return { fx, state };
}
