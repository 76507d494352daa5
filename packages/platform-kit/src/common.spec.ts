/** The one `[roles]` rule every platform applies (checkRoles / assignRoles). */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@labrig/core';
import { listNames } from '@labrig/core';
import { assignRoles, checkRoles, platformFileOfContext } from './common.js';

const FILE = 'configs/platforms/lab/platform.toml';
const errorOf = (f: () => unknown): ConfigError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('no error');
};

describe('[roles] naming hosts', () => {
  it('a name that is no host: ConfigError on roles.<role> with the name, a did-you-mean and the known hosts', () => {
    const e = errorOf(() => checkRoles({ leader: ['tb-0'], db: ['tb-1', 'tb-9'] }, ['tb-0', 'tb-1', 'tb-2'], FILE));
    expect(e).toMatchObject({ file: FILE, field: 'roles.db', problem: 'names "tb-9" (did you mean "tb-0"?), not a host of this platform; known hosts: tb-0, tb-1, tb-2' });
    expect(e.message).toBe(`${FILE}: roles.db: names "tb-9" (did you mean "tb-0"?), not a host of this platform; known hosts: tb-0, tb-1, tb-2`);
    expect(e.hint).toBe(`Replace "tb-9" with "tb-0" in roles.db in ${FILE}.`);
  });

  it('no close name: no guess, and the hint says to name known hosts; several unknown names are all named', () => {
    const e = errorOf(() => checkRoles({ storage: ['database-server', 'x'] }, ['node0', 'node1'], FILE, { of: 'this experiment' }));
    expect(e.problem).toBe('names "database-server", "x", not hosts of this experiment; known hosts: node0, node1');
    expect(e.hint).toBe(`Name only hosts of this experiment in roles.storage in ${FILE}, or remove the unknown names.`);
    expect(errorOf(() => checkRoles({ 'odd role': ['q'] }, [], FILE)).field).toBe('roles."odd role"');
    expect(errorOf(() => checkRoles({ r: ['q'] }, [], FILE)).problem).toBe('names "q", not a host of this platform; known hosts: (none)');
  });

  it('a long host list stays readable: 8 names, then "and N more"', () => {
    const known = Array.from({ length: 40 }, (_, i) => `node-${i}`);
    const e = errorOf(() => checkRoles({ leader: ['node-40'] }, known, FILE));
    expect(e.problem).toBe('names "node-40" (did you mean "node-0"?), not a host of this platform; known hosts: node-0, node-1, node-2, node-3, node-4, node-5, node-6, node-7 and 32 more');
    expect(listNames(known.slice(0, 8))).toBe(known.slice(0, 8).join(', '));
    expect(listNames(known.slice(0, 9))).toBe(`${known.slice(0, 8).join(', ')} and 1 more`);
  });

  it('names that may still appear (mayAppear) and names of hosts not listed now (alsoKnown) are accepted', () => {
    expect(() => checkRoles({ leader: ['node7'] }, ['login'], FILE, { mayAppear: (n) => n !== 'jump' })).not.toThrow();
    expect(errorOf(() => checkRoles({ leader: ['jump'] }, ['login'], FILE, { mayAppear: (n) => n !== 'jump' })).field).toBe('roles.leader');
    expect(assignRoles(['a-0', 'a-1'], { bench: ['a-1', 'a-2'] }, FILE, (_, i) => (i === 0 ? ['leader'] : ['worker']), { alsoKnown: ['a-2'] })).toEqual([['leader'], ['bench']]);
    expect(() => assignRoles(['a-0', 'a-1'], { bench: ['a-2'] }, FILE, () => ['worker'])).toThrow(ConfigError);
  });

  it('the platform file of a context is the one of its state folder', () => {
    expect(platformFileOfContext({ root: '/w', stateDir: '/w/.labrig/state/lab' })).toBe(FILE);
  });
});
