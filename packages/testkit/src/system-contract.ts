/**
 * The System contract, checked against a real workspace, a real platform and real hosts: one call
 * from a system plugin's spec (`await checkSystemContract({ root, project, platform })`). The
 * system's targets are run the way labrig-run runs them: the plugin's executors (from its
 * executors.json, as its package.json `labrig.system` declares them), with the platform as
 * `--configuration`. Each check is named; a failure lists every failed check with what was expected.
 *
 * Checks: the plugin declares deploy, stop and status with schemas taking `platform` and `dryRun`;
 * a system file with an unknown field is a ConfigError naming the file and the field (nothing runs);
 * a bad option value is an OptionError naming the option; a dry run prints a plan and touches no
 * host; setup (when declared) runs, and a second setup skips every host; deploy runs (readiness
 * waited for), and a second deploy skips every host; status succeeds; stop runs twice; teardown
 * (when declared and asked for) runs twice.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExecutorContext } from '@nx/devkit';
import { parseToml, runsDir } from '@labrig/core';
import { executorContext, findLastRun, runExecutor } from './executors.js';
import { ContractFailed, type CheckResult } from './platform-contract.js';

export interface SystemContractOptions {
  /** Workspace root holding targets/<project>/system.toml and configs/platforms/<platform>/. */
  root: string;
  /** The system's project (its folder under targets/). */
  project: string;
  /** The platform folder name (the targets' --configuration). */
  platform: string;
  /** Steps that check something on every run (readiness, health) and so are not skipped on a re-run. */
  rerunSteps?: string[];
  /** Run teardown (twice) at the end. Default: false (it may release the platform's hosts). */
  teardown?: boolean;
  /** Extra options given to every target (e.g. `{ n: 2 }`). */
  options?: Record<string, unknown>;
}

type Executor = (o: Record<string, unknown>, context: ExecutorContext) => Promise<{ success: boolean }>;
interface Declared {
  executor?: string;
  platform?: boolean;
  kind?: string;
}

const runCount = (root: string) => (existsSync(runsDir(root)) ? readdirSync(runsDir(root)).length : 0);

export async function checkSystemContract(o: SystemContractOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const label = `${o.project} (targets/${o.project}/system.toml)`;
  const check = async (name: string, fn: () => Promise<string | undefined>, skip = false): Promise<boolean> => {
    if (skip) return false;
    const t0 = performance.now();
    try {
      const failed = await fn();
      results.push({ name, ok: failed === undefined, ms: Math.round(performance.now() - t0), ...(failed ? { detail: failed } : {}) });
      return failed === undefined;
    } catch (e) {
      results.push({ name, ok: false, ms: Math.round(performance.now() - t0), detail: `threw ${(e as Error)?.stack ?? String(e)}` });
      return false;
    }
  };

  const systemFile = join(o.root, 'targets', o.project, 'system.toml');
  const context = executorContext(o.root, o.project);
  const executors = new Map<string, Executor>();
  let declared: Record<string, Declared> = {};

  const loaded = await check('declares deploy, stop and status, each an executor whose schema takes platform and dryRun', async () => {
    const module = parseToml(readFileSync(systemFile, 'utf8'), systemFile)['system'];
    if (typeof module !== 'string') return `${systemFile}: no \`system = "<plugin module>"\``;
    const pkgFile = createRequire(join(o.root, 'package.json')).resolve(`${module}/package.json`);
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { executors?: string; labrig?: { system?: { targets?: Record<string, Declared> } } };
    declared = pkg.labrig?.system?.targets ?? {};
    const missing = ['deploy', 'stop', 'status'].filter((t) => !declared[t]);
    if (missing.length) return `${module}: package.json labrig.system.targets lacks ${missing.join(', ')}`;
    if (!pkg.executors) return `${module}: package.json has no "executors"`;
    const exFile = join(dirname(pkgFile), pkg.executors);
    const table = (JSON.parse(readFileSync(exFile, 'utf8')) as { executors: Record<string, { implementation: string; schema: string }> }).executors;
    for (const [target, t] of Object.entries(declared)) {
      if (t.kind === 'noop' || t.kind === 'build') continue;
      const name = t.executor ?? target;
      const entry = table[name];
      if (!entry) return `${module}: target ${target} names executor ${name}, which ${pkg.executors} does not list`;
      const schema = JSON.parse(readFileSync(join(dirname(exFile), entry.schema), 'utf8')) as { properties?: Record<string, unknown> };
      if (t.platform && (!schema.properties?.['platform'] || !schema.properties?.['dryRun'])) return `${module}: the schema of ${name} (${entry.schema}) must take platform and dryRun`;
      const mod = (await import(pathToFileURL(join(dirname(exFile), entry.implementation)).href)) as { default?: Executor };
      if (typeof mod.default !== 'function') return `${module}: ${entry.implementation} has no default export (the executor)`;
      executors.set(target, mod.default);
    }
    return undefined;
  });
  if (!loaded) throw new ContractFailed(label, results, 'System');

  const run = (target: string, extra: Record<string, unknown> = {}) =>
    runExecutor(() => executors.get(target)!({ platform: o.platform, output: 'plain', ...o.options, ...extra }, context));

  await check('a system file with an unknown field is a ConfigError naming the file and the field; nothing runs', async () => {
    const original = readFileSync(systemFile, 'utf8');
    const before = runCount(o.root);
    try {
      // At the top: after a [table] header the field would belong to that table (still unknown).
      writeFileSync(systemFile, `labrig_testkit_unknown_field = 1\n${original}`);
      const r = await run('deploy', { dryRun: true });
      if (r.success) return 'deploy --dryRun succeeded: an unknown field must be refused (additionalProperties: false)';
      if (!r.out.includes(`targets/${o.project}/system.toml`) || !r.out.includes('labrig_testkit_unknown_field')) return `the error must name targets/${o.project}/system.toml and the field; it printed: ${r.out.slice(-600)}`;
      if (!r.out.includes('hint:')) return `expected a typed labrig error (message and hint), got: ${r.out.slice(-600)}`;
      return runCount(o.root) === before ? undefined : 'a run was started for an invalid system file';
    } finally {
      writeFileSync(systemFile, original);
    }
  });

  await check('a bad option value is an OptionError naming the option', async () => {
    const r = await run('deploy', { dryRun: true, failurePolicy: 'labrig-testkit-bogus' });
    if (r.success) return 'deploy --failurePolicy=labrig-testkit-bogus succeeded';
    return r.out.includes('failurePolicy') || r.out.includes('failure-policy') ? undefined : `the error must name the option: ${r.out.slice(-600)}`;
  });

  await check('a dry run prints the plan and touches no host', async () => {
    const before = runCount(o.root);
    const r = await run('deploy', { dryRun: true });
    if (!r.success) return `deploy --dryRun failed: ${r.out.slice(-800)}`;
    if (!/dry run/i.test(r.out)) return `expected a plan (saying it is a dry run), got: ${r.out.slice(0, 400)}`;
    return runCount(o.root) === before ? undefined : 'a dry run started a run (it must not touch a host)';
  });

  const skippedAll = async (target: string): Promise<string | undefined> => {
    const last = await findLastRun(o.root, `${o.project}:${target}`);
    if (!last) return `no journaled run titled ${o.project}:${target}`;
    const ends = last.events.filter((e) => e['type'] === 'host-end').map((e) => ({ step: String(e['step']), host: String(e['host']), status: String(e['status']) }));
    const ran = ends.filter((s) => s.status !== 'skipped' && !(o.rerunSteps ?? []).includes(s.step));
    return ran.length === 0 ? undefined : `the second ${target} did work again on: ${ran.map((s) => `${s.step}@${s.host} (${s.status})`).join(', ')} (run ${last.id}); a re-run must skip what is done`;
  };
  const ok = async (target: string, extra: Record<string, unknown> = {}) => {
    const r = await run(target, extra);
    return r.success ? undefined : `${target} failed: ${r.out.slice(-1500)}`;
  };

  if (executors.has('setup')) {
    await check('setup runs, and a second setup skips every host', async () => (await ok('setup')) ?? (await ok('setup')) ?? (await skippedAll('setup')));
  }
  const deployed = await check('deploy runs (waiting until the system is ready)', async () => ok('deploy'));
  await check('a second deploy skips every host', async () => (await ok('deploy')) ?? (await skippedAll('deploy')), !deployed);
  await check('status succeeds on the deployed system', async () => ok('status'), !deployed);
  await check('stop runs twice', async () => (await ok('stop')) ?? (await ok('stop')));
  if (o.teardown && executors.has('teardown')) {
    await check('teardown runs twice', async () => (await ok('teardown')) ?? (await ok('teardown')));
  }
  if (results.some((r) => !r.ok)) throw new ContractFailed(label, results, 'System');
  return results;
}
