/** System files: bad input gives one ConfigError naming the file and the field. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@labrig/core';
import { assignRoles } from './roles.js';
import { loadSystemFile } from './system-file.js';
import { expand } from './template.js';

let root: string;
const top = 'system = "@labrig/system-generic"\n';
const build = '[build]\ncommand = ["make"]\noutputs = ["bin/x"]\n';
const base = `${top}${build}[roles.server]
hosts = { indexes = [0] }
start = ["x"]
`;
const write = (text: string) => {
  mkdirSync(join(root, 'targets/s'), { recursive: true });
  writeFileSync(join(root, 'targets/s/system.toml'), text);
};
const errorOf = (fn: () => unknown): ConfigError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('no error');
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'labrig-sys-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('system file', () => {
  it('loads a minimal file with defaults', () => {
    write(base);
    const s = loadSystemFile(root, 'targets/s');
    expect(s.deploy).toEqual({ dir: '.labrig/systems/{system}', from: 'controller' });
    expect(s.build).toMatchObject({ pty: false, timeout: '30m' });
    expect(s.build.on).toBeUndefined();
    expect(s.sources).toEqual(['src/**/*']);
  });

  const cases: [string, string, RegExp][] = [
    ["unknown key", "bulid = 1\n" + base, /bulid: unknown key `bulid`.*did you mean `build`/],
    ['wrong type', base.replace('start = ["x"]', 'start = "x"'), /roles\.server\.start.*array/],
    ['missing build', base.replace(build, ''), /missing required field `build`/],
    ['unknown artifact role', base + '[[artifacts]]\nname = "a"\npath = "bin/x"\nroles = ["srv"]\n', /artifacts\[0\]\.roles\[0\].*unknown role `srv`/],
    ['probe with two kinds', base + 'ready = { port = 1, file = "/x" }\n', /roles\.server\.ready/],
    ['task shadowing a target', base + '[tasks.deploy]\nrole = "server"\ncommand = ["x"]\n', /tasks\.deploy.*built-in target/],
  ];
  for (const [what, text, re] of cases) {
    it(`${what}: one ConfigError naming file and field`, () => {
      write(text);
      const e = errorOf(() => loadSystemFile(root, 'targets/s'));
      expect(e.message).toContain('targets/s/system.toml');
      expect(e.message).toMatch(re);
    });
  }

  it('a role selecting hosts the inventory lacks names the role and the inventory', () => {
    write(base.replace('indexes = [0]', 'indexes = [5]'));
    const s = loadSystemFile(root, 'targets/s');
    const e = errorOf(() => assignRoles(s, [{ name: 'h0', address: 'a', roles: [], labels: {} }], 'targets/s/system.toml'));
    expect(e.message).toMatch(/roles\.server\.hosts\.indexes.*index 5.*h0/);
  });

  it('a role naming a host or a platform role the inventory lacks: the selector field, a did-you-mean, the known names', () => {
    const inv = ['tb-0', 'tb-1', 'tb-2'].map((name, i) => ({ name, address: 'a', roles: [i === 0 ? 'leader' : 'worker'], labels: {} }));
    write(base.replace('indexes = [0]', 'names = ["tb-0", "tb-9"]'));
    const byName = errorOf(() => assignRoles(loadSystemFile(root, 'targets/s'), inv, 'targets/s/system.toml'));
    expect(byName).toMatchObject({ field: 'roles.server.hosts.names', problem: 'names "tb-9" (did you mean "tb-0"?), not a host of the platform; known hosts: tb-0, tb-1, tb-2' });
    expect(byName.hint).toBe('Replace "tb-9" with "tb-0" in roles.server.hosts.names in targets/s/system.toml.');
    write(base.replace('indexes = [0]', 'platformRoles = ["leadr"]'));
    const byRole = errorOf(() => assignRoles(loadSystemFile(root, 'targets/s'), inv, 'targets/s/system.toml'));
    expect(byRole).toMatchObject({ field: 'roles.server.hosts.platformRoles', problem: 'names "leadr" (did you mean "leader"?), not a role of the platform; known roles: leader, worker' });
    const many = Array.from({ length: 20 }, (_, i) => ({ name: `node-${i}`, address: 'a', roles: ['worker'], labels: {} }));
    write(base.replace('indexes = [0]', 'names = ["gpu-box"]'));
    expect(errorOf(() => assignRoles(loadSystemFile(root, 'targets/s'), many, 'targets/s/system.toml')).problem).toBe(
      'names "gpu-box", not a host of the platform; known hosts: node-0, node-1, node-2, node-3, node-4, node-5, node-6, node-7 and 12 more',
    );
  });

  it('counts and durations below their least value: empty or repeated selectors, zero timeouts', () => {
    for (const [from, to, field] of [
      ['indexes = [0]', 'indexes = []', 'roles.server.hosts.indexes'],
      ['indexes = [0]', 'indexes = [0, 0]', 'roles.server.hosts.indexes[1]'],
      ['indexes = [0]', 'indexes = [-1]', 'roles.server.hosts.indexes[0]'],
      ['indexes = [0]', 'names = []', 'roles.server.hosts.names'],
    ] as const) {
      write(base.replace(from, to));
      expect(errorOf(() => loadSystemFile(root, 'targets/s')).field).toBe(field);
    }
    write(`${base}[tasks.t]\nrole = "server"\ncommand = ["x"]\ntimeout = "0s"\n`);
    const zero = errorOf(() => loadSystemFile(root, 'targets/s'));
    expect(zero).toMatchObject({ field: 'tasks.t.timeout' });
    expect(zero.problem).toContain('a duration above zero');
    write(base.replace('start = ["x"]', 'start = ["x"]\nready = { port = 80, timeout = "00ms" }'));
    expect(errorOf(() => loadSystemFile(root, 'targets/s')).field).toBe('roles.server.ready.timeout');
    write(`${base}[tasks.t]\nrole = "sever"\ncommand = ["x"]\n`);
    expect(errorOf(() => loadSystemFile(root, 'targets/s'))).toMatchObject({ field: 'tasks.t.role', problem: 'unknown role `sever` (did you mean `server`?); the roles are: server' });
  });
});

describe('templates', () => {
  const where = { file: 'f.toml', field: 'x' };
  it('expands tokens inside one argument and keeps literal braces', () => {
    const h = { name: 'h', address: '10.0.0.1', roles: [], labels: {} };
    expect(expand('--at={host.address}:{{port}}', { system: 's', host: h }, where)).toBe('--at=10.0.0.1:{port}');
    expect(expand('{role.a.endpoints:80}', { system: 's', roles: { a: [h, { ...h, address: 'x', privateAddress: 'y' }] } }, where)).toBe('10.0.0.1:80,y:80');
  });
  it('an unknown token is a ConfigError naming the field', () => {
    expect(() => expand('{nope}', { system: 's' }, where)).toThrow(/f\.toml: x: unknown or unavailable token \{nope\}/);
  });
});
