import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  expandIdentityFile,
  loadSshConfig,
  matchGlob,
  matchHostPatterns,
  matchSshConfig,
  parseProxyJump,
  parseSshConfig,
  splitConfigLine,
} from './ssh-config.js';
import { resolveHost } from './resolve-host.js';

const CONFIG = `
# comment
Host web-* !web-bad
  HostName %h.example.internal
  User alice
  IdentityFile ~/.ssh/web_key
  IdentityFile %d/.ssh/%r@%h

Host db? db-main, other
  Port=2201
  User bob

Host jumpy
  HostName 10.1.1.1
  ProxyJump ops@bastion:2222,inner

Host direct
  ProxyJump none

Host *
  User fallback
  Port 22
  IdentityFile "~/.ssh/with space"
  ProxyJump bastion
`;

describe('ssh config parser', () => {
  const cfg = parseSshConfig(CONFIG, { file: 'test-config' });

  it('splits lines with = and quotes', () => {
    expect(splitConfigLine('Port=22')).toEqual(['Port', '22']);
    expect(splitConfigLine('Port = 22')).toEqual(['Port', '22']);
    expect(splitConfigLine('IdentityFile "a b" c')).toEqual(['IdentityFile', 'a b', 'c']);
  });

  it('globs with * and ?', () => {
    expect(matchGlob('web-*', 'web-1')).toBe(true);
    expect(matchGlob('db?', 'db1')).toBe(true);
    expect(matchGlob('db?', 'db12')).toBe(false);
    expect(matchGlob('*.x.*', 'a.x.b')).toBe(true);
    expect(matchGlob('a*b*c', 'aXbYbZc')).toBe(true);
    expect(matchGlob('a*b*c', 'aXbYbZ')).toBe(false);
  });

  it('negation beats a positive match', () => {
    expect(matchHostPatterns(['web-*', '!web-bad'], 'web-good')).toBe(true);
    expect(matchHostPatterns(['web-*', '!web-bad'], 'web-bad')).toBe(false);
    expect(matchHostPatterns(['!only-negative'], 'x')).toBe(false);
  });

  it('first obtained value wins, IdentityFile accumulates, %h in HostName', () => {
    const m = matchSshConfig(cfg, 'web-1');
    expect(m.hostName).toBe('web-1.example.internal');
    expect(m.user).toBe('alice');
    expect(m.port).toBe(22);
    expect(m.identityFiles).toEqual(['~/.ssh/web_key', '%d/.ssh/%r@%h', '~/.ssh/with space']);
    expect(m.proxyJump).toBe('bastion');
  });

  it('several patterns per line, comma lists, Port=', () => {
    for (const h of ['db1', 'db-main', 'other']) {
      const m = matchSshConfig(cfg, h);
      expect(m.port, h).toBe(2201);
      expect(m.user, h).toBe('bob');
    }
    expect(matchSshConfig(cfg, 'web-bad').user).toBe('fallback');
  });

  it('ProxyJump none stops later values', () => {
    const m = matchSshConfig(cfg, 'direct');
    expect(m.proxyJump).toBeUndefined();
    expect(m.proxyJumpNone).toBe(true);
  });

  it('parses ProxyJump chains', () => {
    expect(parseProxyJump('ops@bastion:2222,inner')).toEqual([
      { user: 'ops', host: 'bastion', port: 2222 },
      { host: 'inner' },
    ]);
    expect(parseProxyJump('[::1]:22')).toEqual([{ host: '::1', port: 22 }]);
    expect(() => parseProxyJump('h:99999')).toThrow();
  });

  it('expands ~ and %d %u %h %r %% in IdentityFile', () => {
    expect(
      expandIdentityFile('%d/k/%u-%r@%h-%%', { host: 'h1', user: 'ru', homeDir: '/home/me', localUser: 'me' }),
    ).toBe('/home/me/k/me-ru@h1-%');
    expect(expandIdentityFile('~/.ssh/id', { host: 'h', user: 'u', homeDir: '/home/me' })).toBe('/home/me/.ssh/id');
  });

  it('Include (relative to the config dir, with a glob)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'labrig-sshcfg-'));
    mkdirSync(path.join(dir, 'conf.d'));
    writeFileSync(path.join(dir, 'conf.d', 'a.conf'), 'Host inc-host\n  HostName 127.0.0.9\n  Port 2022\n');
    writeFileSync(path.join(dir, 'conf.d', 'b.txt'), 'Host inc-host\n  HostName wrong\n');
    writeFileSync(path.join(dir, 'config'), 'Include conf.d/*.conf\nHost *\n  User me\n');
    const c = loadSshConfig(path.join(dir, 'config'));
    const m = matchSshConfig(c, 'inc-host');
    expect(m.hostName).toBe('127.0.0.9');
    expect(m.port).toBe(2022);
    expect(m.user).toBe('me');
  });

  it('Match all applies; other Match blocks are skipped', () => {
    const c = parseSshConfig('Match exec "false"\n  User no\nMatch all\n  User yes\n');
    expect(matchSshConfig(c, 'x').user).toBe('yes');
  });

  it('resolves a Host: explicit fields win; jump chains from ProxyJump', () => {
    const r = resolveHost({ name: 'j', address: 'jumpy', roles: [], labels: {}, user: 'explicit' }, { config: cfg, homeDir: '/h', localUser: 'me' });
    expect(r.address).toBe('10.1.1.1');
    expect(r.user).toBe('explicit');
    expect(r.port).toBe(22);
    // chain: bastion (first hop) -> inner -> target
    expect(r.jump?.address).toBe('inner');
    expect(r.jump?.jump?.address).toBe('bastion');
    expect(r.jump?.jump?.user).toBe('ops');
    expect(r.jump?.jump?.port).toBe(2222);
    // bastion's own `Host *` ProxyJump points at itself: ignored, no loop
    expect(r.jump?.jump?.jump).toBeUndefined();
    expect(r.key).toBe('explicit@10.1.1.1:22 via fallback@inner:22 via ops@bastion:2222');
    // a host matched only by `Host *` goes through bastion
    const o = resolveHost({ name: 'o', address: 'plain', roles: [], labels: {} }, { config: cfg, homeDir: '/h', localUser: 'me' });
    expect(o.jump?.address).toBe('bastion');
    expect(o.jump?.jump).toBeUndefined();
    const w = resolveHost({ name: 'w', address: 'web-2', roles: [], labels: {}, port: 2300, identityFiles: ['/k/own'] }, { config: cfg, homeDir: '/h', localUser: 'me' });
    expect(w.port).toBe(2300);
    expect(w.identityFiles).toEqual(['/k/own', '/h/.ssh/web_key', '/h/.ssh/alice@web-2.example.internal', '/h/.ssh/with space']);
  });
});
