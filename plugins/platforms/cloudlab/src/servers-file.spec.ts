/** servers.txt parsing: `<name> <hostname>` lines in order; a bad line is a ConfigError naming file and line. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@labrig/core';
import { parseServersFile } from './servers-file.js';

const FILE = 'configs/platforms/cl/servers.txt';

function errorOf(text: string): ConfigError {
  try {
    parseServersFile(text, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseServersFile', () => {
  it('reads hosts in file order, skipping blank lines and comments', () => {
    const text = '# generated from the manifest\nnode0 c220g5-110531.wisc.cloudlab.us\n\nnode1   c220g5-110522.wisc.cloudlab.us  # second\nnode2 128.105.145.9\n';
    expect(parseServersFile(text, FILE)).toEqual([
      { name: 'node0', hostname: 'c220g5-110531.wisc.cloudlab.us', line: 2 },
      { name: 'node1', hostname: 'c220g5-110522.wisc.cloudlab.us', line: 4 },
      { name: 'node2', hostname: '128.105.145.9', line: 5 },
    ]);
  });

  it('names the file and the line of a bad entry', () => {
    const extra = errorOf('node0 a.example.org\nnode1 b.example.org extra\n');
    expect(extra.message.split('\n')[0]).toBe(`${FILE}:2: expected \`<name> <hostname>\`, got 3 fields: "node1 b.example.org extra"`);
    expect(extra.line).toBe(2);
    expect(errorOf('node0\n').problem).toMatch(/got 1 field:/);
    expect(errorOf('node0 bad_host!.org\n').problem).toBe('"bad_host!.org" is not a host name or IPv4 address');
    const dup = errorOf('node0 a.example.org\n\nnode0 b.example.org\n');
    expect([dup.line, dup.problem]).toEqual([3, 'host node0 is listed twice (first at line 1)']);
    expect(errorOf('# nothing yet\n').problem).toBe('lists no host');
  });
});
