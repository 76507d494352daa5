/**
 * The Platform contract, checked against a real workspace and real hosts: one call from a plugin's
 * spec (`await checkPlatformContract({ root, platform })`). Each check is named; a failure lists
 * every failed check with what was expected, so a plugin author sees all of them at once.
 *
 * Checks: the module loads and has the contract's shape; a config with an unknown field is a
 * ConfigError naming the file and the field; provision (when the plugin has one) can run twice
 * with the same hosts; the inventory has well-formed, uniquely named hosts and does not change
 * when asked twice; every host answers a command through the platform's connector; a host that
 * does not answer is a typed HostUnreachable; teardown (when the plugin has one) can run twice.
 */
import { appendFileSync, cpSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Host, PlatformInstance } from '@labrig/core';
import { ConfigError, isLabrigError, loadPlatform, platformFileOf } from '@labrig/core';

export interface PlatformContractOptions {
  /** Workspace root holding configs/platforms/<platform>/platform.toml. */
  root: string;
  /** The platform folder name. */
  platform: string;
  /** Run provision and teardown (twice each). Default: true when the plugin has them. */
  lifecycle?: boolean;
  /** Hosts checked with a command (default all). */
  maxHosts?: number;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  ms: number;
  /** Why it failed; for a passed check, what it saw (e.g. how many hosts answered). */
  detail?: string;
}

export class ContractFailed extends Error {
  constructor(
    /** The platform (or system) checked. */
    readonly platform: string,
    readonly results: CheckResult[],
    readonly contract: 'Platform' | 'System' = 'Platform',
  ) {
    super(
      `${contract.toLowerCase()} ${platform} fails the labrig ${contract} contract:\n${results
        .filter((r) => !r.ok)
        .map((r) => `  ✖ ${r.name}: ${r.detail ?? ''}`)
        .join('\n')}`,
    );
    this.name = 'ContractFailed';
  }
}

const describeError = (e: unknown) => (isLabrigError(e) ? `${e.constructor.name}: ${e.message}` : `untyped ${(e as Error)?.name ?? 'error'}: ${(e as Error)?.message ?? String(e)}`);

function checkHosts(hosts: Host[]): string | undefined {
  if (!Array.isArray(hosts) || hosts.length === 0) return 'inventory returned no hosts';
  const names = new Set<string>();
  for (const [i, h] of hosts.entries()) {
    if (typeof h !== 'object' || h === null) return `hosts[${i}] is not an object`;
    const where = `hosts[${i}] (${h.name ?? '?'})`;
    if (typeof h.name !== 'string' || !h.name) return `${where}: name must be a non-empty string`;
    if (names.has(h.name)) return `${where}: duplicate name`;
    names.add(h.name);
    if (typeof h.address !== 'string' || !h.address) return `${where}: address must be a non-empty string`;
    if (h.port !== undefined && (!Number.isInteger(h.port) || h.port < 1 || h.port > 65535)) return `${where}: port ${h.port} is not a TCP port`;
    if (!Array.isArray(h.roles) || h.roles.length === 0) return `${where}: roles must be a non-empty list`;
    if (typeof h.labels !== 'object' || h.labels === null) return `${where}: labels must be an object`;
  }
  return undefined;
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const summary = (hosts: Host[]) =>
  JSON.stringify(hosts.map((h) => [h.name, h.address, h.port ?? 22, h.user ?? '', [...h.roles].sort(), h.privateAddress ?? '', h.jump?.name ?? '', Object.entries(h.labels ?? {}).sort()]));

export async function checkPlatformContract(o: PlatformContractOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const check = async <T>(name: string, fn: () => Promise<T | string | undefined>, seen?: (r: T) => string): Promise<T | undefined> => {
    const t0 = performance.now();
    try {
      const r = await fn();
      const failed = typeof r === 'string' ? r : undefined;
      const detail = failed ?? (seen && r !== undefined ? seen(r as T) : undefined);
      results.push({ name, ok: failed === undefined, ms: Math.round(performance.now() - t0), ...(detail ? { detail } : {}) });
      return failed === undefined ? (r as T) : undefined;
    } catch (e) {
      results.push({ name, ok: false, ms: Math.round(performance.now() - t0), detail: describeError(e) });
      return undefined;
    }
  };

  const p = await check<PlatformInstance>('loads with the contract shape', async () => {
    const inst = await loadPlatform(o.root, o.platform);
    const pl = inst.platform;
    if (typeof pl.name !== 'string' || typeof pl.configSchema !== 'object' || typeof pl.inventory !== 'function' || typeof pl.createConnector !== 'function') {
      return 'the default export needs name, configSchema, inventory and createConnector';
    }
    return inst;
  });

  await check('a config with an unknown field is a ConfigError naming file and field', async () => {
    const bad = `${o.platform}-testkit-${process.pid}`;
    const dir = join(o.root, 'configs/platforms', bad);
    cpSync(join(o.root, 'configs/platforms', o.platform), dir, { recursive: true });
    try {
      appendFileSync(join(dir, 'platform.toml'), '\nlabrig_testkit_unknown_field = 1\n');
      await loadPlatform(o.root, bad);
      return 'the config loaded: an unknown field must be refused (additionalProperties: false)';
    } catch (e) {
      if (!(e instanceof ConfigError)) return `expected a ConfigError, got ${describeError(e)}`;
      if (!e.message.includes(platformFileOf(bad)) || !e.message.includes('labrig_testkit_unknown_field')) return `the error must name ${platformFileOf(bad)} and the field: ${e.message}`;
      return undefined;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  if (!p) throw new ContractFailed(o.platform, results);

  const lifecycle = o.lifecycle ?? true;
  if (lifecycle && p.platform.provision) {
    await check('provision runs twice with the same hosts', async () => {
      const a = await p.platform.provision!(p.cfg, p.ctx);
      const b = await p.platform.provision!(p.cfg, p.ctx);
      return summary(a) === summary(b) ? undefined : `the second provision changed the hosts: ${summary(a)} then ${summary(b)}`;
    });
  }

  const hosts = await check<Host[]>('inventory: well-formed hosts, unchanged when asked twice', async () => {
    const a = await p.platform.inventory(p.cfg, p.ctx);
    const bad = checkHosts(a);
    if (bad) return bad;
    const b = await p.platform.inventory(p.cfg, p.ctx);
    return summary(a) === summary(b) ? a : 'asking twice gave different hosts (inventory must not change the world)';
  }, (a) => `${a.length} host(s): ${a.map((h) => h.name).join(', ')}`);

  if (hosts) {
    const checked = hosts.slice(0, o.maxHosts ?? hosts.length);
    await check(o.maxHosts !== undefined && checked.length < hosts.length ? `every host answers a command through the connector (the first ${checked.length} of ${hosts.length})` : 'every host answers a command through the connector', async () => {
      const connector = p.platform.createConnector(p.cfg, p.ctx);
      try {
        for (const h of checked) {
          const remote = await connector.connect(h);
          const r = await remote.exec(['sh', '-c', 'echo labrig-testkit'], { allowFailure: true });
          if (r.exitCode !== 0 || r.stdout.trim() !== 'labrig-testkit') return `${h.name}: exit ${r.exitCode}, output ${JSON.stringify(r.stdout.slice(0, 80))}`;
        }
        return undefined;
      } finally {
        await connector.close();
      }
    });
  }

  if (hosts?.[0]) {
    await check('a host that does not answer is a typed error (HostUnreachable)', async () => {
      const port = await closedPort();
      const gone: Host = { ...hosts[0]!, name: `${hosts[0]!.name}-gone`, address: '127.0.0.1', port };
      delete (gone as { jump?: Host }).jump;
      const connector = p.platform.createConnector(p.cfg, p.ctx);
      try {
        const remote = await connector.connect(gone);
        await remote.exec(['true']);
        return `connecting to 127.0.0.1:${port} (nothing listens there) succeeded`;
      } catch (e) {
        if (!isLabrigError(e)) return `expected a typed labrig error, got ${describeError(e)}`;
        return e.code === 'UNREACHABLE' || e.constructor.name === 'HostUnreachable' ? undefined : `expected HostUnreachable, got ${describeError(e)}`;
      } finally {
        await connector.close();
      }
    });
  }

  if (lifecycle && p.platform.teardown) {
    await check('teardown runs twice', async () => {
      // As `teardown --yes`: a platform may ask for confirmation before releasing machines.
      p.ctx.confirmed = true;
      await p.platform.teardown!(p.cfg, p.ctx);
      await p.platform.teardown!(p.cfg, p.ctx);
      return undefined;
    });
  }

  if (results.some((r) => !r.ok)) throw new ContractFailed(o.platform, results);
  return results;
}
