/**
 * A CloudLab experiment manifest (RSpec v3 XML, the experiment page's "Manifest" tab) as the list
 * of its nodes: name (client_id), SSH logins, experiment-network addresses and hardware facts.
 * A problem is one ConfigError naming the file, the node and the line of the element at fault.
 *
 * A manifest is recognised by what it holds (logins, sliver ids), not by its root's `type`:
 * CloudLab and other GENI portals hand out manifests of running experiments whose root still
 * says `type="request"` with a `request.xsd` schemaLocation.
 */
import { ConfigError, listNames } from '@labrig/core';
import { USER_NAME, USER_NAME_RULE } from './user-name.js';
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

/** 1-based lines of character offsets in `text` (one pass to index the line starts, then a binary search). */
function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** What the parser records of an element's place (captureMetaData). */
type Position = { startIndex?: number } | undefined;

/** The middle part of a GENI URN (`urn:publicid:IDN+wisc.cloudlab.us+node+c220g5-110531`): authority and name. */
function urnParts(urn: string | undefined): { authority?: string; name?: string } {
  const m = urn ? /^urn:publicid:IDN\+([^+]+)\+[^+]+\+(.+)$/.exec(urn) : null;
  return m ? { authority: m[1]!, name: m[2]! } : {};
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Where a node's problems are reported: the node, a field, the line of the element at fault. */
type Fail = (field: string, problem: string, line?: number) => never;

/** One `<login>`: hostname required, port 22 unless given, a CloudLab user name when given. */
function parseLogin(login: XmlElement, fail: Fail, line: number): ManifestLogin {
  const hostname = attr(login, 'hostname');
  if (!hostname) fail('services.login', '<login> has no hostname attribute', line);
  if (!HOSTNAME.test(hostname)) fail('services.login', `<login hostname="${hostname}"> is not a host name`, line);
  const portText = attr(login, 'port') ?? '22';
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) fail('services.login', `<login port="${portText}"> is not a port number`, line);
  const username = attr(login, 'username');
  if (username !== undefined && !USER_NAME.test(username)) fail('services.login', `<login username="${username}"> is not a CloudLab user name (${USER_NAME_RULE})`, line);
  return { hostname, port, ...(username ? { username } : {}) };
}

/** The `<services><login authentication="ssh-keys">` elements of a node (no authentication attribute counts as ssh-keys). */
const sshLogins = (node: XmlElement): XmlElement[] =>
  asElements(asElement(node['services'])?.['login']).filter((l) => (attr(l, 'authentication') ?? 'ssh-keys') === 'ssh-keys');

/** What parseNode needs besides the node. */
interface NodeContext {
  file: string;
  lineOf: (e: XmlElement) => number;
  seen: Map<string, number>;
}

/** One `<node>`; its logins may be empty (the caller decides what that means for the whole file). */
function parseNode(node: XmlElement, index: number, ctx: NodeContext): ManifestNode {
  const { file, lineOf, seen } = ctx;
  const line = lineOf(node);
  const name = attr(node, 'client_id');
  const label = name ? `node "${name}"` : `node #${index + 1}`;
  const fail: Fail = (field, problem, at = line) => {
    throw new ConfigError(file, field ? `${label} ${field}` : label, problem, {
      line: at,
      hint: `Download the manifest again from the experiment page (Manifest tab) once the experiment is ready, or fix ${file} at line ${at}.`,
    });
  };
  if (!name) fail('', '<node> has no client_id attribute');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) fail('', `client_id "${name}" is not a usable host name (letters, digits, '.', '_', '-')`);
  const earlier = seen.get(name);
  if (earlier !== undefined) fail('', `client_id "${name}" is used twice (first at line ${earlier})`);
  seen.set(name, line);

  const logins = sshLogins(node).map((l) => parseLogin(l, fail, lineOf(l)));

  const addresses: ManifestAddress[] = [];
  for (const iface of asElements(node['interface'])) {
    for (const ip of asElements(iface['ip'])) {
      const address = attr(ip, 'address');
      if (!address) continue;
      if ((attr(ip, 'type') ?? 'ipv4') !== 'ipv4') continue;
      if (!IPV4.test(address)) fail('interface.ip', `<ip address="${address}"> is not an IPv4 address`, lineOf(ip));
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

const DOWNLOAD_HINT = 'Download the manifest of the running experiment again: experiment page, Manifest tab (not the profile\'s RSpec), saved as plain XML.';

/** A short, printable quote of the start of a text. */
function quoteStart(text: string, max = 24): string {
  const head = text.slice(0, max).replace(/\s+/g, ' ');
  return JSON.stringify(text.length > max ? `${head}…` : head);
}

/**
 * Why `text` is not XML at all (empty, binary, UTF-16, JSON, an HTML page, plain text), or
 * undefined when it may be XML. A saved login or error page is the usual case.
 */
function notXml(text: string): string | undefined {
  if (text.trim() === '') return text === '' ? 'the file is empty' : 'the file holds only white space';
  if (/^(\uFFFD\uFFFD)?(<\u0000|\u0000<)/.test(text)) return 'it is UTF-16 text; save it as UTF-8';
  const head = text.slice(0, 4096);
  // Control characters XML never allows, or bytes that are not UTF-8 (U+FFFD) at the start or in bulk;
  // a stray one inside a description is left to the XML check.
  const undecodable = head.split('\uFFFD').length - 1;
  if (/[\u0000-\u0008\u000E-\u001F]/.test(head) || head.startsWith('\uFFFD') || undecodable > head.length / 10) {
    if (text.startsWith('\u001F\uFFFD')) return 'it is gzip-compressed (binary); gunzip it first';
    if (text.startsWith('PK\u0003\u0004')) return 'it is a zip archive (binary); unzip it first';
    return 'it holds binary data';
  }
  const body = text.trimStart();
  if (/^<(!doctype\s+html|html)[\s>]/i.test(body.replace(/^<\?xml[^>]*\?>\s*/, '').replace(/^(<!--[\s\S]*?-->\s*)+/, ''))) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(head)?.[1]?.trim();
    return `it is an HTML page${title ? ` (title ${quoteStart(title, 60)})` : ''}, e.g. a login or error page saved instead of the manifest`;
  }
  if (body.startsWith('{') || body.startsWith('[')) return `it starts with ${quoteStart(body)} (JSON?)`;
  if (!body.startsWith('<')) return `it starts with ${quoteStart(body)}, not with \`<\``;
  return undefined;
}

/**
 * Whether XML that does not validate was cut short: a manifest ends with `</rspec>`, so a file
 * that does not (and fails to validate) stops before its end. The description names the last
 * node it reached.
 */
function truncation(text: string, lineOfOffset: (offset: number) => number): { line: number; where: string } | undefined {
  const body = text.trimEnd();
  if (!/<([A-Za-z_][\w.-]*:)?rspec[\s>]/.test(body)) return undefined; // not the start of an RSpec either
  if (/<\/([A-Za-z_][\w.-]*:)?rspec\s*>$/.test(body)) return undefined;
  const line = lineOfOffset(Math.max(0, body.length - 1));
  const lastNode = body.lastIndexOf('<node ');
  const name = lastNode === -1 ? undefined : /^<node\s[^>]*?\bclient_id="([^"]*)"/.exec(body.slice(lastNode))?.[1];
  const where = lastNode === -1 ? '' : ` inside <node${name !== undefined ? ` client_id="${name}"` : ''}> (line ${lineOfOffset(lastNode)})`;
  return { line, where };
}

const article = (word: string): string => (/^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`);

/**
 * The nodes of a manifest, in document order. `file` names it in errors; `xml` is fast-xml-parser
 * (see xml.ts). Refused: text that is not XML, truncated or invalid XML, XML that is not an
 * RSpec, a request RSpec (no node has a login or a sliver id, whatever the root's `type` says),
 * a manifest with nodes that have no login yet, and bad values, each with the line at fault.
 */
export function parseManifest(input: string, file: string, xml: FastXmlParser): ManifestNode[] {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const lineOfOffset = lineIndex(text);
  const not = notXml(text);
  if (not !== undefined) {
    throw new ConfigError(file, '', `is not XML: ${not}`, { line: 1, hint: `${DOWNLOAD_HINT} Point hosts.manifest at that file.` });
  }
  const valid = xml.XMLValidator.validate(text);
  if (valid !== true) {
    const cut = truncation(text, lineOfOffset);
    if (cut) {
      throw new ConfigError(file, '', `is truncated: the XML stops at line ${cut.line}${cut.where}, before the closing </rspec>`, {
        line: cut.line,
        hint: `The download or copy stopped early. ${DOWNLOAD_HINT}`,
      });
    }
    throw new ConfigError(file, '', `invalid XML: ${valid.err.msg}`, {
      line: valid.err.line,
      column: valid.err.col,
      hint: `${DOWNLOAD_HINT} If you edited it, fix ${file} at line ${valid.err.line}.`,
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
  const doc = parser.parse(text) as XmlElement;
  // Where the parser keeps each element's position (captureMetaData).
  const meta = xml.XMLParser.getMetaDataSymbol() as unknown as symbol;
  const lineOf = (e: XmlElement): number => lineOfOffset((e[meta] as Position)?.startIndex ?? 0);
  const rspec = asElement(doc['rspec']);
  if (!rspec) {
    const root = Object.keys(doc).find((k) => !k.startsWith('?') && k !== '#text');
    throw new ConfigError(file, '', `is not an RSpec: ${root ? `its root element is <${root}>, not <rspec>` : 'no <rspec> element'}`, {
      line: 1,
      hint: `Point hosts.manifest at the experiment's manifest (the XML of its Manifest tab).`,
    });
  }
  const rspecLine = lineOf(rspec);
  const raw = asElements(rspec['node']);
  if (raw.length === 0) throw new ConfigError(file, 'rspec', 'lists no <node>', { line: rspecLine, hint: 'Download the manifest again once the experiment has nodes.' });

  // A manifest by content: logins or sliver ids (a running experiment's), whatever `type` says.
  const type = attr(rspec, 'type');
  const running = raw.some((n) => sshLogins(n).length > 0 || attr(n, 'sliver_id') !== undefined);
  if (!running && type !== 'manifest') {
    const what = type === undefined ? 'looks like a request RSpec' : `is ${article(type)} RSpec`;
    throw new ConfigError(file, 'rspec', `${what}, not a manifest: none of its ${raw.length} <node>s has a login (<services><login>) or a sliver_id`, {
      line: rspecLine,
      hint: `This is what a profile asks for, not a running experiment. ${DOWNLOAD_HINT}`,
    });
  }

  const seen = new Map<string, number>();
  const nodes = raw.map((n, i) => parseNode(n, i, { file, lineOf, seen }));
  const without = nodes.filter((n) => n.logins.length === 0);
  if (without.length > 0) {
    const first = without[0]!;
    const others = without.length > 1 ? `; ${without.length} of ${nodes.length} nodes have none: ${listNames(without.map((n) => n.name))}` : '';
    throw new ConfigError(file, `node "${first.name}" services.login`, `has no <services><login authentication="ssh-keys"> (a manifest of an experiment that is not ready yet?)${others}`, {
      line: first.line,
      hint: `Wait until the experiment page says the experiment is ready, then download the manifest again (Manifest tab).`,
    });
  }
  return nodes;
}
