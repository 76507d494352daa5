/** Manifest parsing: the sample CloudLab manifest, and bad manifests as ConfigErrors naming file, node and line. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@labrig/core';
import { parseManifest as parse } from './manifest.js';
import { loadXmlLibrary } from './xml.js';

const SAMPLE = readFileSync(join(import.meta.dirname, 'testing', 'fixtures', 'manifest.xml'), 'utf8');
const FILE = 'configs/platforms/cl/manifest.xml';
const parseManifest = (text: string, file: string) => parse(text, file, loadXmlLibrary(process.cwd()));

function errorOf(text: string): ConfigError {
  try {
    parseManifest(text, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

/** The sample with node1's <services> replaced. */
const withNode1Services = (services: string): string =>
  SAMPLE.replace(/(client_id="node1"[\s\S]*?)<services>[\s\S]*?<\/services>/, `$1${services}`);

describe('parseManifest', () => {
  it('reads the nodes of a CloudLab manifest in order, with logins, cluster addresses and hardware facts', () => {
    const nodes = parseManifest(SAMPLE, FILE);
    expect(nodes.map((n) => n.name)).toEqual(['node0', 'node1', 'node2', 'node3']);
    const n1 = nodes[1]!;
    expect(n1.logins).toEqual([
      { hostname: 'c220g5-110522.wisc.cloudlab.us', port: 22, username: 'alice' },
      { hostname: 'c220g5-110522.wisc.cloudlab.us', port: 22, username: 'bob' },
    ]);
    expect(n1.addresses).toEqual([{ address: '10.10.1.2', netmask: '255.255.255.0', interface: 'node1:eth1' }]);
    expect(n1).toMatchObject({ hardwareType: 'c220g5', component: 'c220g5-110522', site: 'wisc.cloudlab.us', dnsName: 'node1.sigma-exp.sigmaos-PG0.wisc.cloudlab.us', publicIpv4: '128.105.145.22' });
    expect(SAMPLE.split('\n')[n1.line - 1]).toMatch(/<node [^>]*client_id="node1"/);
  });

  it('invalid XML: names the file and the line', () => {
    const e = errorOf(SAMPLE.replace('</services>\n  </node>\n  <node', '</services>\n  <node'));
    expect(e.message).toMatch(new RegExp(`^${FILE}:\\d+:\\d+: .*invalid XML`));
    expect(e.line).toBeGreaterThan(10);
  });

  it('a node without an SSH login: names the node and its line', () => {
    const e = errorOf(withNode1Services('<services><emulab:console server="boss"/></services>'));
    const line = SAMPLE.split('\n').findIndex((l) => l.includes('client_id="node1"')) + 1;
    expect(e.message.split('\n')[0]).toBe(
      `${FILE}:${line}: node "node1" services.login: has no <services><login authentication="ssh-keys"> (a manifest of an experiment that is not ready yet?)`,
    );
  });

  it('a bad login port and a bad address are named with their node', () => {
    expect(errorOf(withNode1Services('<services><login authentication="ssh-keys" hostname="h.example.org" port="22x"/></services>')).message).toMatch(
      /node "node1" services\.login: <login port="22x"> is not a port number/,
    );
    expect(errorOf(SAMPLE.replace('10.10.1.3', '10.10.1.300')).message).toMatch(/node "node2" interface\.ip: <ip address="10\.10\.1\.300"> is not an IPv4 address/);
  });

  it('a client_id used twice, a request RSpec, and a manifest without nodes are refused', () => {
    expect(errorOf(SAMPLE.replace('client_id="node3"', 'client_id="node1"')).message).toMatch(/node "node1": client_id "node1" is used twice \(first at line \d+\)/);
    expect(errorOf(SAMPLE.replace('type="manifest"', 'type="request"')).message).toMatch(/rspec: is a request RSpec, not a manifest/);
    expect(errorOf('<rspec type="manifest"></rspec>').message).toMatch(/rspec: lists no <node>/);
    expect(errorOf('<html><body>Login</body></html>').message).toMatch(/is not an RSpec/);
  });
});
