import type { TestbedHost, TestbedState } from '@labrig/testbed';
import { ConfigError } from '@labrig/core';
import { describe, expect, it } from 'vitest';
import { configuredHostNames, hostsFromTestbed } from './inventory.js';

const host = (name: string, address: string, extra: Partial<TestbedHost> = {}): TestbedHost => ({
  name,
  address,
  port: 2222,
  user: `u-${name}`,
  home: `/h/${name}`,
  identityFile: '/k/id',
  pidFile: `/p/${name}.pid`,
  logFile: `/p/${name}.log`,
  ...extra,
});

describe('hostsFromTestbed', () => {
  it('roles from the config (else worker), platform label, private address, key; hosts behind the login host jump through it', () => {
    const login = host('tb-login', '10.200.0.2');
    const state = {
      hosts: [host('tb-0', '127.0.1.1'), host('tb-1', '10.200.0.3', { behindLogin: true, jump: 'tb-login' })],
      login,
    } as TestbedState;
    const loginHost = {
      name: 'tb-login',
      address: '10.200.0.2',
      port: 2222,
      user: 'u-tb-login',
      roles: ['login'],
      labels: { platform: 'local' },
      privateAddress: '10.200.0.2',
      identityFiles: ['/k/id'],
    };
    expect(hostsFromTestbed(state, { leader: ['tb-0'] })).toEqual([
      {
        name: 'tb-0',
        address: '127.0.1.1',
        port: 2222,
        user: 'u-tb-0',
        roles: ['leader'],
        labels: { platform: 'local' },
        privateAddress: '127.0.1.1',
        identityFiles: ['/k/id'],
      },
      {
        name: 'tb-1',
        address: '10.200.0.3',
        port: 2222,
        user: 'u-tb-1',
        roles: ['worker'],
        labels: { platform: 'local' },
        privateAddress: '10.200.0.3',
        identityFiles: ['/k/id'],
        jump: loginHost,
      },
    ]);
    expect('jump' in (hostsFromTestbed(state, {})[0] ?? {})).toBe(false);
  });

  it('a role naming a host the testbed does not have is a ConfigError on roles.<role> (did you mean, known hosts); the login host takes roles too', () => {
    const state = { hosts: [host('tb-0', '127.0.1.1'), host('tb-1', '127.0.1.2')], login: host('tb-login', '127.0.1.3') } as TestbedState;
    const file = 'configs/platforms/lab/platform.toml';
    let err: unknown;
    try {
      hostsFromTestbed(state, { leader: ['tb-0'], other: ['tb-9'] }, file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ file, field: 'roles.other' });
    expect((err as ConfigError).problem).toBe('names "tb-9" (did you mean "tb-0"?), not a host of this platform; known hosts: tb-0, tb-1, tb-login');
    expect((err as ConfigError).hint).toBe('Replace "tb-9" with "tb-0" in roles.other in configs/platforms/lab/platform.toml.');
    // Hosts the file describes but the testbed has not started yet are not mistakes.
    expect(hostsFromTestbed(state, { other: ['tb-3'] }, file, configuredHostNames({ hosts: 4, login: true })).map((h) => h.roles)).toEqual([['worker'], ['worker']]);
    expect(configuredHostNames({ hosts: 2, login: true })).toEqual(['tb-0', 'tb-1', 'tb-login']);
    const withLoginRole = hostsFromTestbed({ ...state, hosts: [host('tb-0', '127.0.1.1', { behindLogin: true, jump: 'tb-login' })] } as TestbedState, { gateway: ['tb-login'] }, file);
    expect(withLoginRole[0]!.jump?.roles).toEqual(['gateway']);
  });
});
