/**
 * A CloudLab experiment manifest (RSpec v3 XML, the experiment page's "Manifest" tab) as the list
 * of its nodes: name (client_id), SSH logins, experiment-network addresses and hardware facts.
 * A problem is one ConfigError naming the file, the node and its line.
 */
import { ConfigError } from '@labrig/core';
import type { FastXmlParser } from './xml.js';

/** An SSH login CloudLab offers for a node (one per project member). */
export interface ManifestLogin {
  hostname: string;
  port: number;
  username?: string;
}

/** An address of a node on an experiment network (`<interface><ip>`). */
export interface ManifestAddress {
  address: string;
  netmask?: string;
  /** The interface's client_id, e.g. `node0:eth1`. */
  interface?: string;
}

export interface ManifestNode {
  /** client_id: the node's name in the profile (`node0`). */
  name: string;
  /** 1-based line of its `<node>` element. */
  line: number;
  logins: ManifestLogin[];
  addresses: ManifestAddress[];
  /** e.g. `c220g5`. */
  hardwareType?: string;
  /** The physical machine, e.g. `c220g5-110531`. */
  component?: string;
  /** The cluster, e.g. `wisc.cloudlab.us`. */
  site?: string;
  /** `<host name>`: the experiment-specific DNS name. */
  dnsName?: string;
  /** `<host ipv4>`: the control network address. */
  publicIpv4?: string;
}

/** Elements that may repeat: always parsed as arrays. */
const REPEATED = new Set(['node', 'login', 'interface', 'ip']);

type XmlElement = Record<string | symbol, unknown>;

const asElement = (v: unknown): XmlElement | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as XmlElement) : undefined);
const asElements = (v: unknown): XmlElement[] => {
  const items: unknown[] = Array.isArray(v) ? v : [v];
  return items.flatMap((x): XmlElement[] => {
    const e = asElement(x);
    return e ? [e] : [];
  });
};
const attr = (e: XmlElement | undefined, name: string): string | undefined => {
  const v = e?.[`@_${name}`];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
};

/** 1-based line of a character offset. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The middle part of a GENI URN (`urn:publicid:IDN+wisc.cloudlab.us+node+c220g5-110531`): authority and name. */
function urnParts(urn: string | undefined): { authority?: string; name?: string } {
  const m = urn ? /^urn:publicid:IDN\+([^+]+)\+[^+]+\+(.+)$/.exec(urn) : null;
  return m ? { authority: m[1]!, name: m[2]! } : {};
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** One `<login>`: hostname required, port 22 unless given. */
function parseLogin(login: XmlElement, fail: (field: string, problem: string) => never): ManifestLogin {
  const hostname = attr(login, 'hostname');
  if (!hostname) fail('services.login', '<login> has no hostname attribute');
  if (!HOSTNAME.test(hostname)) fail('services.login', `<login hostname="${hostname}"> is not a host name`);
  const portText = attr(login, 'port') ?? '22';
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) fail('services.login', `<login port="${portText}"> is not a port number`);
  const username = attr(login, 'username');
  return { hostname, port, ...(username ? { username } : {}) };
}

/** One `<node>`; `meta` is the parser's position symbol (for the line in errors). */
function parseNode(node: XmlElement, index: number, text: string, file: string, seen: Map<string, number>, meta: symbol): ManifestNode {
  const position = node[meta] as { startIndex?: number } | undefined;
  const line = lineAt(text, position?.startIndex ?? 0);
  const name = attr(node, 'client_id');
  const label = name ? `node "${name}"` : `node #${index + 1}`;
  const fail: (field: string, problem: string) => never = (field, problem) => {
    throw new ConfigError(file, field ? `${label} ${field}` : label, problem, {
      line,
      hint: `Download the manifest again from the experiment page (Manifest tab) once the experiment is ready, or fix ${file} at line ${line}.`,
    });
  };
  if (!name) fail('', '<node> has no client_id attribute');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) fail('', `client_id "${name}" is not a usable host name (letters, digits, '.', '_', '-')`);
  const earlier = seen.get(name);
  if (earlier !== undefined) fail('', `client_id "${name}" is used twice (first at line ${earlier})`);
  seen.set(name, line);

  const services = asElement(node['services']);
  const logins = asElements(services?.['login'])
    .filter((l) => (attr(l, 'authentication') ?? 'ssh-keys') === 'ssh-keys')
    .map((l) => parseLogin(l, fail));
  if (logins.length === 0) fail('services.login', 'has no <services><login authentication="ssh-keys"> (a manifest of an experiment that is not ready yet?)');

  const addresses: ManifestAddress[] = [];
  for (const iface of asElements(node['interface'])) {
    for (const ip of asElements(iface['ip'])) {
      const address = attr(ip, 'address');
      if (!address) continue;
      if ((attr(ip, 'type') ?? 'ipv4') !== 'ipv4') continue;
      if (!IPV4.test(address)) fail('interface.ip', `<ip address="${address}"> is not an IPv4 address`);
      const netmask = attr(ip, 'netmask');
      const ifName = attr(iface, 'client_id');
      addresses.push({ address, ...(netmask ? { netmask } : {}), ...(ifName ? { interface: ifName } : {}) });
    }
  }

  const host = asElement(node['host']);
  const hardwareType = attr(asElement(node['hardware_type']), 'name') ?? attr(asElement(node['vnode']), 'hardware_type');
  const component = urnParts(attr(node, 'component_id')).name ?? attr(asElement(node['vnode']), 'name');
  const site = urnParts(attr(node, 'component_manager_id')).authority;
  const dnsName = attr(host, 'name');
  const publicIpv4 = attr(host, 'ipv4');
  return {
    name,
    line,
    logins,
    addresses,
    ...(hardwareType ? { hardwareType } : {}),
    ...(component ? { component } : {}),
    ...(site ? { site } : {}),
    ...(dnsName ? { dnsName } : {}),
    ...(publicIpv4 ? { publicIpv4 } : {}),
  };
}

/** The nodes of a manifest, in document order. `file` names it in errors; `xml` is fast-xml-parser (see xml.ts). */
export function parseManifest(text: string, file: string, xml: FastXmlParser): ManifestNode[] {
  const valid = xml.XMLValidator.validate(text);
  if (valid !== true) {
    throw new ConfigError(file, '', `invalid XML: ${valid.err.msg}`, {
      line: valid.err.line,
      column: valid.err.col,
      hint: `Download the manifest again from the experiment page (Manifest tab); the file may be truncated.`,
    });
  }
  const parser = new xml.XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: true,
    captureMetaData: true,
    parseTagValue: false,
    parseAttributeValue: false,
    isArray: (name) => REPEATED.has(name),
  });
  const rspec = asElement((parser.parse(text) as XmlElement)['rspec']);
  if (!rspec) throw new ConfigError(file, '', 'is not an RSpec: no <rspec> element', { hint: `Point hosts.manifest at the experiment's manifest (the XML of its Manifest tab).` });
  const type = attr(rspec, 'type');
  if (type !== undefined && type !== 'manifest') {
    throw new ConfigError(file, 'rspec', `is a ${type} RSpec, not a manifest: it has no login addresses`, {
      hint: 'Download the manifest of the running experiment (experiment page, Manifest tab), not the profile.',
    });
  }
  const seen = new Map<string, number>();
  // Where the parser keeps each element's position (captureMetaData).
  const meta = xml.XMLParser.getMetaDataSymbol() as unknown as symbol;
  const nodes = asElements(rspec['node']).map((n, i) => parseNode(n, i, text, file, seen, meta));
  if (nodes.length === 0) throw new ConfigError(file, 'rspec', 'lists no <node>', { hint: 'Download the manifest again once the experiment has nodes.' });
  return nodes;
}
