import type { TestbedHost, TestbedState } from '@labrig/testbed';
import { describe, expect, it } from 'vitest';
import { hostsFromTestbed } from './inventory.js';

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
    expect(hostsFromTestbed(state, { leader: ['tb-0'], other: ['nope'] })).toEqual([
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
});
