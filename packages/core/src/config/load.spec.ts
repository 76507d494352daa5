import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { loadConfigFile, parseConfig, validateConfig } from './load.js';

const hostSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'address'],
  properties: {
    name: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' },
    address: { type: 'string' },
    port: { type: 'integer', minimum: 1, maximum: 65535, default: 22 },
    user: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' }, default: [] },
  },
};
const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['hosts'],
  properties: {
    platform: { type: 'string', default: '@labrig/platform-local' },
    ssh: {
      type: 'object',
      additionalProperties: false,
      properties: { timeout: { type: 'integer', minimum: 1 }, mode: { enum: ['agent', 'key'] } },
    },
    hosts: { type: 'array', items: hostSchema, minItems: 1 },
    source: {
      oneOf: [
        { type: 'object', additionalProperties: false, required: ['path'], properties: { path: { type: 'string' } } },
        {
          type: 'object',
          additionalProperties: false,
          required: ['git'],
          properties: { git: { type: 'string' }, rev: { type: 'string' } },
        },
      ],
    },
    size: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
  },
};

const good = `
[ssh]
timeout = 30

[[hosts]]
name = "tb-0"
address = "10.0.0.1"

[[hosts]]
name = "tb-1"
address = "10.0.0.2"
port = 2222
`;

function configError(text: string): ConfigError {
  let err: unknown;
  try {
    parseConfig(text, 'configs/platforms/lab.toml', schema);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

/** The same file with `hosts[2]` (third host) given the TOML fragment. */
function withThirdHost(fragment: string): string {
  return `${good}\n[[hosts]]\n${fragment}\n`;
}

describe('parseConfig', () => {
  it('fills defaults', () => {
    const cfg = parseConfig<{ platform: string; hosts: { port: number; roles: string[] }[] }>(good, 'x.toml', schema);
    expect(cfg.platform).toBe('@labrig/platform-local');
    expect(cfg.hosts.map((h) => h.port)).toEqual([22, 2222]);
    expect(cfg.hosts[0]!.roles).toEqual([]);
  });

  it('wrong type: names file, field and what is expected', () => {
    const e = configError(withThirdHost('name = "tb-2"\naddress = "a"\nport = "22"'));
    expect(e.message).toBe('configs/platforms/lab.toml: hosts[2].port: expected an integer, got the string "22"');
    expect(e.field).toBe('hosts[2].port');
    expect(e.file).toBe('configs/platforms/lab.toml');
  });

  it('unknown key: lists allowed keys and suggests the closest', () => {
    const e = configError(withThirdHost('name = "tb-2"\naddress = "a"\nprot = 22'));
    expect(e.field).toBe('hosts[2].prot');
    expect(e.message).toContain('unknown key `prot` (did you mean `port`?)');
    expect(e.message).toContain('allowed keys here: name, address, port, user, roles');
  });

  it('missing field', () => {
    const e = configError(withThirdHost('name = "tb-2"'));
    expect(e.field).toBe('hosts[2].address');
    expect(e.message).toContain('missing required field `address`');
  });

  it('nested table fields use TOML dotted paths', () => {
    const e = configError(`ssh.timeout = "soon"\n${good.replace('[ssh]\ntimeout = 30\n', '')}`);
    expect(e.message).toBe('configs/platforms/lab.toml: ssh.timeout: expected an integer, got the string "soon"');
  });

  it('enum, min and pattern', () => {
    expect(configError(`${good}\n[ssh]`).message).toContain('invalid TOML'); // duplicate table
    const en = configError(good.replace('timeout = 30', 'mode = "password"'));
    expect(en.message).toContain('ssh.mode: expected one of "agent", "key", got the string "password"');
    const min = configError(withThirdHost('name = "tb-2"\naddress = "a"\nport = 0'));
    expect(min.message).toContain('hosts[2].port: expected an integer >= 1, got the integer 0');
    const pat = configError(withThirdHost('name = "TB 2"\naddress = "a"'));
    expect(pat.message).toContain('hosts[2].name: expected a string matching /^[a-z][a-z0-9-]*$/');
  });

  it('one error even when several are wrong: unknown key before a type error deeper down', () => {
    const e = configError(`colour = "red"\n${withThirdHost('name = "tb-2"\naddress = "a"\nport = "22"')}`);
    expect(e.field).toBe('colour');
    expect(e.message.split('\n')).toHaveLength(1);
  });

  it('oneOf: explains the best matching alternative, not the soup', () => {
    const e = configError(`${good}\n[source]\ngit = "https://x"\nrev = 3`);
    expect(e.message).toBe('configs/platforms/lab.toml: source.rev: expected a string, got the integer 3');
    const t = configError(`size = true\n${good}`);
    expect(t.message).toBe('configs/platforms/lab.toml: size: expected a string or an integer, got the boolean true');
  });

  it('invalid TOML: names file, line and column', () => {
    const e = configError('[ssh]\ntimeout = 30\nbad line here\n');
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/^configs\/platforms\/lab\.toml:3:\d+: invalid TOML: /);
    expect(e.hint).toContain('line 3');
  });
});

describe('loadConfigFile', () => {
  it('reads and validates a file; a missing file is a ConfigError', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'labrig-cfg-'));
    const f = path.join(dir, 'lab.toml');
    writeFileSync(f, good);
    expect(loadConfigFile<{ hosts: unknown[] }>(f, schema).hosts).toHaveLength(2);
    let err: unknown;
    try {
      loadConfigFile(path.join(dir, 'nope.toml'), schema, { displayPath: 'configs/nope.toml' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe('configs/nope.toml: (top level): file not found');
    expect((err as ConfigError).hint).toContain('configs/nope.toml');
  });

  it('shows paths relative to the workspace', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'labrig-ws-'));
    writeFileSync(path.join(dir, 'nx.json'), '{}');
    const f = path.join(dir, 'lab.toml');
    writeFileSync(f, 'hosts = 3');
    expect(() => loadConfigFile(f, schema)).toThrow(/^lab\.toml: hosts: expected an array, got the integer 3$/);
  });
});

describe('validateConfig: remembered results', () => {
  const schema = {
    type: 'object',
    properties: { hosts: { type: 'integer', minimum: 1 }, name: { type: 'string', default: 'lab' }, when: {} },
    required: ['hosts'],
    additionalProperties: false,
  };

  function withCache<T>(fn: (dir: string) => T): T {
    const dir = mkdtempSync(path.join(tmpdir(), 'labrig-valid-'));
    const before = process.env['LABRIG_CONFIG_CACHE'];
    process.env['LABRIG_CONFIG_CACHE'] = dir;
    try {
      return fn(dir);
    } finally {
      if (before === undefined) delete process.env['LABRIG_CONFIG_CACHE'];
      else process.env['LABRIG_CONFIG_CACHE'] = before;
    }
  }

  it('remembers a valid result (defaults included) and reads it back for the same schema and data', () => {
    withCache((dir) => {
      expect(validateConfig({ hosts: 2 }, 'a.toml', schema)).toEqual({ hosts: 2, name: 'lab' });
      const files = readdirSync(dir);
      expect(files).toHaveLength(1);
      // The next call reads the remembered result: prove it by planting a marker in it.
      writeFileSync(path.join(dir, files[0]!), JSON.stringify({ hosts: 2, name: 'from-cache' }));
      expect(validateConfig({ hosts: 2 }, 'a.toml', schema)).toEqual({ hosts: 2, name: 'from-cache' });
      // Other data, or another schema, is validated afresh.
      expect(validateConfig({ hosts: 3 }, 'a.toml', schema)).toEqual({ hosts: 3, name: 'lab' });
      expect(validateConfig({ hosts: 2 }, 'a.toml', { ...schema, title: 'other' })).toEqual({ hosts: 2, name: 'lab' });
    });
  });

  it('never remembers an invalid config, nor data JSON cannot carry exactly (TOML dates)', () => {
    withCache((dir) => {
      for (let i = 0; i < 2; i++) expect(() => validateConfig({ hosts: 0 }, 'a.toml', schema)).toThrow(ConfigError);
      const d = new Date('2026-01-02T03:04:05Z');
      expect(validateConfig({ hosts: 1, when: d }, 'a.toml', schema)).toEqual({ hosts: 1, name: 'lab', when: d });
      expect(readdirSync(dir)).toEqual([]);
    });
  });
});
