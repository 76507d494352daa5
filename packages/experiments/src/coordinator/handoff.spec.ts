/** The pure parts of a hand-off: which host, which host keys, which commands. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Host } from '@labrig/core';
import { ConfigError, OptionError } from '@labrig/core';
import type { ExperimentTarget } from '../engine/run-plan.js';
import type { Plan } from '../plan/load.js';
import { buildSpec, knownHostsFor, parseSize, resolveCoordinatorHost } from './handoff.js';
import { RUN_DIR_TOKEN } from './spec.js';

const host = (name: string, address: string, extra: Partial<Host> = {}): Host => ({ name, address, port: 2222, user: `u-${name}`, roles: [], labels: {}, ...extra });
const inventory = [host('node0', '10.0.0.1'), host('node1', '10.0.0.2', { privateAddress: '192.168.1.2' }), host('node2', '10.0.0.3')];
const plan = (coordinator?: Plan['coordinator']): Plan =>
  ({
    name: 'p',
    file: 'configs/experiments/p.toml',
    system: 'sys',
    platform: 'lab',
    timeoutMs: 60_000,
    collect: [],
    experiments: [],
    results: [],
    paramNames: ['n'],
    runs: [
      { id: 'aaa-r1', experiments: ['main'], repeat: 1, task: 'bench', params: { n: 1 } },
      { id: 'bbb-r1', experiments: ['main'], repeat: 1, task: 'bench', params: { n: 2 } },
    ],
    ...(coordinator ? { coordinator } : {}),
  }) as unknown as Plan;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('resolveCoordinatorHost', () => {
  const roles = { server: [inventory[2]!], client: [inventory[0]!, inventory[1]!] };
  it('a host by name, or the first host of a role; the option wins over the plan', () => {
    expect(resolveCoordinatorHost({ plan: plan({ host: 'node1' }), inventory, roles }).name).toBe('node1');
    expect(resolveCoordinatorHost({ plan: plan({ host: 'server' }), inventory, roles }).name).toBe('node2');
    expect(resolveCoordinatorHost({ plan: plan({ host: 'node1' }), inventory, roles, option: 'node0' }).name).toBe('node0');
  });
  it('an unknown one: an OptionError for --coordinator, a ConfigError naming the plan file and field for the plan', () => {
    const opt = (() => {
      try {
        resolveCoordinatorHost({ plan: plan(), inventory, roles, option: 'nod1' });
      } catch (e) {
        return e;
      }
    })();
    expect(opt).toBeInstanceOf(OptionError);
    expect((opt as Error).message).toBe('option --coordinator: got "nod1", expected a host of platform lab (node0, node1, node2) or a role of sys (server, client); did you mean node1?');
    const cfg = (() => {
      try {
        resolveCoordinatorHost({ plan: plan({ host: 'clients' }), inventory, roles });
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(cfg).toBeInstanceOf(ConfigError);
    expect([cfg.file, cfg.field]).toEqual(['configs/experiments/p.toml', 'coordinator']);
    expect(cfg.hint).toContain('did you mean client?');
  });
});

describe('knownHostsFor', () => {
  it('re-keys the laptop\u2019s entries to the address the coordinator uses, and names hosts without one', () => {
    const d = mkdtempSync(join(tmpdir(), 'labrig-kh-'));
    dirs.push(d);
    const f = join(d, 'known_hosts');
    writeFileSync(f, ['[10.0.0.1]:2222 ssh-ed25519 AAAAkey0', '[10.0.0.2]:2222 ssh-ed25519 AAAAkey1', '@revoked [10.0.0.3]:2222 ssh-ed25519 AAAAold', ''].join('\n'));
    const r = knownHostsFor(inventory, f);
    expect(r.text).toBe('[10.0.0.1]:2222 ssh-ed25519 AAAAkey0\n[192.168.1.2]:2222 ssh-ed25519 AAAAkey1\n');
    expect(r.missing).toEqual(['node2']);
  });
});

describe('buildSpec', () => {
  it('every host command of every run from the system target, the attempt folder as a token, secret names only', () => {
    const calls: string[] = [];
    const target: ExperimentTarget = {
      deploy: async () => true,
      taskHosts: () => [inventory[0]!, inventory[1]!],
      taskArgv: (_t, h, set, params, run) => (calls.push(`${h.name}/${set.length}`), ['load', `--n=${params['n']}`, `--out=${run.dir}/x`, `--seed=${set.indexOf(h)}`]),
      taskEnv: () => ({ TOKEN: 'secret-value' }),
      connect: async () => {
        throw new Error('no connection while building a spec');
      },
      version: async () => ({}),
    };
    const spec = buildSpec({ root: '/', plan: plan(), target, inventory, roles: {}, deployment: 'lab', output: 'plain', log: () => undefined }, { parallelRuns: 2 }, '.labrig/keys/lab', { v: 1 });
    expect(spec.tasks).toEqual({ bench: { hosts: ['node0', 'node1'], env: ['TOKEN'] } });
    expect(JSON.stringify(spec)).not.toContain('secret-value');
    expect(spec.hosts).toEqual([
      { name: 'node0', address: '10.0.0.1', port: 2222, user: 'u-node0' },
      { name: 'node1', address: '192.168.1.2', port: 2222, user: 'u-node1' },
    ]);
    expect(spec.argv['bbb-r1']).toEqual({ node0: { node0: ['load', '--n=2', `--out=${RUN_DIR_TOKEN}/x`, '--seed=0'] }, node1: { node1: ['load', '--n=2', `--out=${RUN_DIR_TOKEN}/x`, '--seed=0'] } });
    expect(calls).toHaveLength(4);
  });
});

describe('parseSize', () => {
  it('KiB', () => {
    expect([parseSize('512MiB'), parseSize('2GiB'), parseSize('1TiB'), parseSize('7KiB')]).toEqual([524288, 2097152, 1073741824, 7]);
    expect(() => parseSize('2GB')).toThrow(/not a size/);
  });
});
