/** Test helpers: a temp workspace inside <workspace>/tmp (plugins resolve from its node_modules), executors run with output captured. */
import { appendFileSync, chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { executorContext, tempWorkspace as makeTempWorkspace } from '@labrig/testkit';

export const workspace = join(import.meta.dirname, '../../../../..');

export const tempWorkspace = (prefix: string): string => makeTempWorkspace(workspace, prefix);

export function writeIn(root: string, rel: string, text: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}

/** targets/cfiddle/system.toml of the repository, plus extra TOML appended at the end. */
export function copySystemFile(root: string, extra = ''): void {
  mkdirSync(join(root, 'targets/cfiddle'), { recursive: true });
  cpSync(join(workspace, 'targets/cfiddle/system.toml'), join(root, 'targets/cfiddle/system.toml'));
  if (extra) appendFileSync(join(root, 'targets/cfiddle/system.toml'), `\n${extra}\n`);
}

export const ctxFor = (root: string, project = 'cfiddle') => executorContext(root, project);
export { runExecutor as capture, expectSuccess as ok } from '@labrig/testkit';

export interface FixtureCluster {
  /** The temporary workspace root (configs/platforms/tb, targets/cfiddle). */
  root: string;
  /** The testbed's folder. */
  tb: string;
  /** The fixtures' folder: bin/ (on the hosts' PATH), state/, etc/ (exports, munge), home/. */
  fx: string;
}

/**
 * A workspace for cfiddle in SSH-cluster mode on 4 testbed hosts (not started: call `up`) whose
 * PATH starts with the fixture tools; the system file's system folders (exports, home, munge)
 * moved into the fixture folder, its timeouts short. `registry`: the testbed's registry (else the
 * system file names one the docker fixture keeps its images under).
 */
export function fixtureCluster(o: { prefix: string; base: string; port: number; registry: boolean; healthTimeout: string }): FixtureCluster {
  const root = tempWorkspace(`${o.prefix}-`);
  const tb = mkdtempSync(join(tmpdir(), `labrig-${o.prefix}-tb-`));
  chmodSync(tb, 0o755);
  const fx = join(tb, 'fx');
  // Fixture bin dir (readable by every testbed user), state and "system" folders (writable by all).
  cpSync(join(import.meta.dirname, 'fixtures'), join(fx, 'bin'), { recursive: true });
  chmodSync(fx, 0o755);
  for (const d of ['state', 'etc', 'home']) {
    mkdirSync(join(fx, d), { recursive: true });
    chmodSync(join(fx, d), 0o777);
  }
  writeFileSync(join(fx, 'etc/exports'), '/srv/data *(ro,no_subtree_check)\n');
  chmodSync(join(fx, 'etc/exports'), 0o666);
  writeIn(
    root,
    'configs/platforms/tb/platform.toml',
    ['platform = "@labrig/platform-local"', '[testbed]', 'hosts = 4', `dir = ${JSON.stringify(tb)}`, `addressBase = "${o.base}"`, `port = ${o.port}`, 's3 = false', `registry = ${o.registry}`, '[run]', 'timeout = "2m"'].join('\n'),
  );
  copySystemFile(root);
  const file = join(root, 'targets/cfiddle/system.toml');
  let text = readFileSync(file, 'utf8')
    .replace('[env]\n', `[env]\nPATH = "${join(fx, 'bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\nCFIDDLE_FIXTURE_STATE = "${join(fx, 'state')}"\n`)
    .replace('exportsFile = "/etc/exports"', `exportsFile = "${join(fx, 'etc/exports')}"`)
    .replace('home = "/home"', `home = "${join(fx, 'home')}"`)
    .replace('munge = "/etc/munge"', `munge = "${join(fx, 'etc/munge')}"`)
    .replace('healthTimeout = "10m"', `healthTimeout = "${o.healthTimeout}"`)
    .replace('slurmTimeout = "5m"', 'slurmTimeout = "20s"')
    .replace('stopTimeout = "5m"', 'stopTimeout = "20s"');
  if (!o.registry) text = text.replace('# registry = "10.10.1.1:5000"', 'registry = "registry.cfiddle.test:5000"');
  writeFileSync(file, text);
  return { root, tb, fx };
}
