/**
 * Manifest parsing: the sample CloudLab manifest, manifests as the portal writes them (generated:
 * 160 nodes, 11 members, a `type="request"` root), and bad files as ConfigErrors naming file, node and line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@labrig/core';
import { parseManifest as parse } from './manifest.js';
import { MEMBERS, lineOf, portalManifest } from './testing/portal-manifest.js';
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
    const request = SAMPLE.replace(/<services>[\s\S]*?<\/services>/g, '<services/>').replace(/ sliver_id="[^"]*"/g, '').replace('type="manifest"', 'type="request"');
    expect(errorOf(request).message).toMatch(/^configs\/platforms\/cl\/manifest\.xml:4: rspec: is a request RSpec, not a manifest: none of its 4 <node>s has a login/);
    expect(errorOf('<rspec type="manifest"></rspec>').message).toMatch(/rspec: lists no <node>/);
    expect(errorOf('<?xml version="1.0"?>\n<feed><entry/></feed>').message).toMatch(/:1: is not an RSpec: its root element is <feed>, not <rspec>/);
  });

  it('the root type does not decide: the sample with type="request" and a request.xsd schemaLocation is still a manifest', () => {
    const relabelled = SAMPLE.replace('type="manifest"', 'type="request"').replace('manifest.xsd', 'request.xsd');
    expect(relabelled).not.toEqual(SAMPLE);
    expect(parseManifest(relabelled, FILE)).toEqual(parseManifest(SAMPLE, FILE));
  });
});

describe('manifests as the portal writes them (generated: 160 nodes, 11 members, type="request" root)', () => {
  const REAL = portalManifest();

  it('a running experiment whose root says type="request": one node per <node>, every member\'s login, capitals kept', () => {
    expect(REAL).toMatch(/<rspec [^>]*request\.xsd" type="request"/);
    expect(REAL).toMatch(/<link client_id="link-0" [^>]*vlantag="281">/);
    const nodes = parseManifest(REAL, FILE);
    expect(nodes).toHaveLength(160);
    expect(nodes.map((n) => n.name)).toEqual(Array.from({ length: 160 }, (_, i) => `node-${i}`));
    expect(nodes.flatMap((n) => n.logins)).toHaveLength(1760);
    const last = nodes[159]!;
    expect(last.logins.map((l) => l.username)).toEqual([...MEMBERS]);
    expect(last.logins.every((l) => l.hostname === 'pc559.utah.cloudlab.us' && l.port === 22)).toBe(true);
    expect(last).toMatchObject({ addresses: [{ address: '10.10.1.160', netmask: '255.255.0.0', interface: 'interface-159' }], hardwareType: 'm510', component: 'pc559', site: 'utah.cloudlab.us' });
    expect(last.line).toBe(lineOf(REAL, /client_id="node-159"/));
  });

  it('a genuine request RSpec (the profile: no logins, no sliver ids) is refused and says what to download', () => {
    const e = errorOf(portalManifest({ running: false }));
    expect(e.message.split('\n')[0]).toBe(`${FILE}:2: rspec: is a request RSpec, not a manifest: none of its 160 <node>s has a login (<services><login>) or a sliver_id`);
    expect(e.hint).toMatch(/Manifest tab/);
  });

  it('an experiment that is not ready (sliver ids, no logins yet): names the first node, its line, and counts the rest', () => {
    const text = portalManifest({ logins: false });
    const e = errorOf(text);
    expect(e.message.split('\n')[0]).toBe(
      `${FILE}:${lineOf(text, /client_id="node-0"/)}: node "node-0" services.login: has no <services><login authentication="ssh-keys"> (a manifest of an experiment that is not ready yet?); 160 of 160 nodes have none: node-0, node-1, node-2, node-3, node-4, node-5, node-6, node-7 and 152 more`,
    );
  });

  it('a bad <login> or <ip> is reported at its own line', () => {
    const badPort = REAL.replace('hostname="pc500.utah.cloudlab.us" port="22" username="MChen"', 'hostname="pc500.utah.cloudlab.us" port="twenty-two" username="MChen"');
    expect(badPort).not.toEqual(REAL);
    const e = errorOf(badPort);
    expect(e.line).toBe(lineOf(badPort, /port="twenty-two"/));
    expect(e.message).toMatch(/: node "node-100" services\.login: <login port="twenty-two"> is not a port number$/m);

    const badUser = REAL.replace('username="kdubois"/>\n      <emulab:console', 'username="k dubois"/>\n      <emulab:console');
    const u = errorOf(badUser);
    expect(u.line).toBe(lineOf(badUser, /username="k dubois"/));
    expect(u.message).toMatch(/node "node-0" services\.login: <login username="k dubois"> is not a CloudLab user name \(a letter or `_`, then letters, digits/);

    const badIp = REAL.replace('address="10.10.1.43"', 'address="10.10.1.430"');
    expect(errorOf(badIp).line).toBe(lineOf(badIp, /10\.10\.1\.430/));
  });
});

describe('files that are not XML, and truncated XML', () => {
  const REAL = portalManifest({ nodes: 20 });
  const notXml: [string, string, RegExp][] = [
    ['empty', '', /is not XML: the file is empty/],
    ['white space', '\n\n  \n', /is not XML: the file holds only white space/],
    ['gzip', '\u001f\ufffd\b\u0000\u0000\u0000\u0000\u0000\u0000\u0003', /is not XML: it is gzip-compressed/],
    ['binary', 'ELF\u0002\u0001\u0001\u0000\u0000', /is not XML: it holds binary data/],
    ['UTF-16', '\ufffd\ufffd<\u0000?\u0000x\u0000m\u0000l\u0000', /is not XML: it is UTF-16 text; save it as UTF-8/],
    ['JSON', '{"nodes": [{"client_id": "node-0"}]}\n', /is not XML: it starts with "\{.*…" \(JSON\?\)$/],
    ['an HTML error page', '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1><hr>nginx</center></body></html>\n', /is not XML: it is an HTML page \(title "502 Bad Gateway"\), e\.g\. a login or error page/],
    ['an HTML login page that is valid XML', '<html><body>Login</body></html>', /is not XML: it is an HTML page, e\.g\./],
    ['plain text', 'Error: experiment not found\n', /is not XML: it starts with "Error: experiment not fo…", not with `<`/],
  ];
  for (const [what, text, message] of notXml) {
    it(`${what}: "is not XML", not "truncated"`, () => {
      const e = errorOf(text);
      expect(e.message.split('\n')[0]).toMatch(new RegExp(`^${FILE}:1: `));
      expect(e.message).toMatch(message);
      expect(e.message).not.toMatch(/truncated/);
    });
  }

  it('a byte-order mark before the XML, or a stray undecodable byte in a description, is fine', () => {
    expect(parseManifest(`\ufeff${REAL}`, FILE)).toHaveLength(20);
    expect(parseManifest(REAL.replace('m510 nodes', 'm510 n\ufffduds'), FILE)).toHaveLength(20);
  });

  const cuts: [string, number][] = [
    ['inside an attribute value', REAL.indexOf('pc410.utah') + 3],
    ['between two logins', REAL.indexOf('<login', REAL.indexOf('client_id="node-12"'))],
    ['inside the <link>', REAL.indexOf('<interface_ref client_id="interface-5"')],
    ['before </rspec>', REAL.lastIndexOf('</rspec>')],
    ['inside </rspec>', REAL.lastIndexOf('</rspec>') + 4],
  ];
  for (const [what, at] of cuts) {
    it(`truncated ${what}: says truncated and the line where it stops`, () => {
      const text = REAL.slice(0, at);
      const e = errorOf(text);
      const last = text.trimEnd().split('\n').length;
      expect(e.line).toBe(last);
      expect(e.message.split('\n')[0]).toMatch(new RegExp(`^${FILE}:${last}: is truncated: the XML stops at line ${last}`));
      expect(e.message).not.toMatch(/not XML/);
    });
  }

  it('a truncated file names the last node it reached', () => {
    const text = REAL.slice(0, REAL.indexOf('<login', REAL.indexOf('client_id="node-12"')));
    expect(errorOf(text).message).toMatch(new RegExp(`inside <node client_id="node-12"> \\(line ${lineOf(text, /client_id="node-12"/)}\\), before the closing </rspec>`));
  });

  it('XML broken in the middle (not truncated) is "invalid XML" at the line of the fault', () => {
    const text = REAL.replace('</services>\n  </node>\n  <node', '</services>\n  <node');
    const e = errorOf(text);
    expect(e.message).toMatch(new RegExp(`^${FILE}:\\d+:\\d+: invalid XML: `));
    expect(e.message).not.toMatch(/truncated|not XML/);
  });
});
