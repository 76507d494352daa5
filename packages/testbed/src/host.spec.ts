import { describe, expect, it } from 'vitest';
import { toHost } from './host.js';
import type { TestbedHost } from './types.js';

const h: TestbedHost = {
  name: 'tb-1',
  address: '127.0.1.2',
  port: 2222,
  user: 'labrig-x-1',
  home: '/tmp/tb/home/tb-1',
  identityFile: '/tmp/tb/id_ed25519',
  pidFile: '/tmp/tb/hosts/tb-1/sshd.pid',
  logFile: '/tmp/tb/hosts/tb-1/sshd.log',
};

describe('toHost', () => {
  it('a testbed host as a Host: address (also private), port, user, key; no roles, labels or jump by default', () => {
    expect(toHost(h)).toEqual({
      name: 'tb-1',
      address: '127.0.1.2',
      port: 2222,
      user: 'labrig-x-1',
      roles: [],
      labels: {},
      privateAddress: '127.0.1.2',
      identityFiles: ['/tmp/tb/id_ed25519'],
    });
    expect('jump' in toHost(h)).toBe(false);
  });

  it('roles, labels and the jump host as given', () => {
    const jump = toHost({ ...h, name: 'tb-login', address: '10.200.0.2' }, { roles: ['login'] });
    const host = toHost(h, { roles: ['worker'], labels: { platform: 'local' }, jump });
    expect(host).toMatchObject({ roles: ['worker'], labels: { platform: 'local' }, jump: { name: 'tb-login', roles: ['login'] } });
  });
});
