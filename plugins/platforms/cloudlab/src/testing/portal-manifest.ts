/**
 * Manifests shaped like the ones the CloudLab portal hands out for a running experiment: the root
 * still says `type="request"` with a `request.xsd` schemaLocation (as other GENI portals' public
 * manifests do), every node has a sliver_id and one `<login>` per project member, and the LAN is a
 * `<link>` with a vlantag. Options make the variants the specs need: a genuine request RSpec (no
 * sliver ids, no logins), an experiment not ready yet (sliver ids, no logins), members missing
 * from some nodes.
 */

/** Eleven members of one project, two with capitals (as seen on CloudLab). */
export const MEMBERS = ['akumar', 'bwells', 'JRivera', 'cnakamura', 'dokafor', 'MChen', 'efischer', 'gsantos', 'hlindqvist', 'iabara', 'kdubois'] as const;

export interface PortalManifestOptions {
  /** Number of nodes (client_id `node-<i>`). Default 160. */
  nodes?: number;
  /** Project members with a login on each node. Default MEMBERS. */
  members?: readonly string[];
  /** Members with a login on node `i` (overrides `members` per node). */
  membersOf?: (i: number) => readonly string[];
  /** The root's type and schema (`request` as the portal writes it). */
  type?: 'request' | 'manifest';
  /** Whether nodes have sliver ids and logins (false: a profile's request RSpec). Default true. */
  running?: boolean;
  /** Whether nodes have logins (false with running: an experiment that is not ready yet). Default true. */
  logins?: boolean;
  /** The VLAN tag of the experiment LAN. */
  vlantag?: number;
}

/** The physical machine of node `i`: Utah's pc names. */
export const machineOf = (i: number): string => `pc${400 + i}`;
export const loginHostOf = (i: number): string => `${machineOf(i)}.utah.cloudlab.us`;
/** The node's address on the experiment LAN (10.10.0.0/16). */
export const lanAddressOf = (i: number): string => `10.10.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;

const CM = 'urn:publicid:IDN+utah.cloudlab.us+authority+cm';

/** `s` escaped for an XML attribute value. */
export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** One project member's `<login>` element in a node's `<services>`, as the portal writes it. */
export function loginElement(hostname: string, port: number, username: string): string {
  return `<login authentication="ssh-keys" hostname="${esc(hostname)}" port="${port}" username="${esc(username)}"/>`;
}

/** The manifest's XML text. */
export function portalManifest(opts: PortalManifestOptions = {}): string {
  const count = opts.nodes ?? 160;
  const type = opts.type ?? 'request';
  const running = opts.running ?? true;
  const withLogins = running && (opts.logins ?? true);
  const membersOf = opts.membersOf ?? (() => opts.members ?? MEMBERS);
  const sliver = (n: number): string => (running ? ` sliver_id="urn:publicid:IDN+utah.cloudlab.us+sliver+${n}"` : '');
  const nodes: string[] = [];
  const refs: string[] = [];
  for (let i = 0; i < count; i++) {
    const m = machineOf(i);
    const component = running ? ` component_id="urn:publicid:IDN+utah.cloudlab.us+node+${m}"` : '';
    const logins = withLogins
      ? membersOf(i)
          .map((u) => `\n      ${loginElement(loginHostOf(i), 22, u)}`)
          .join('')
      : '';
    nodes.push(`  <node xmlns:emulab="http://www.protogeni.net/resources/rspec/ext/emulab/1" client_id="node-${i}" exclusive="true" component_manager_id="${CM}"${component}${sliver(310000 + i)}>
    <sliver_type name="raw-pc">
      <disk_image name="urn:publicid:IDN+emulab.net+image+emulab-ops//UBUNTU22-64-STD"/>
    </sliver_type>
    <hardware_type name="m510"/>
    <interface client_id="interface-${i}"${running ? ` component_id="urn:publicid:IDN+utah.cloudlab.us+interface+${m}:eth1"` : ''}${sliver(320000 + i)}${running ? ` mac_address="1c34da${(0x100000 + i).toString(16).slice(1)}"` : ''}>
      <ip address="${lanAddressOf(i)}" type="ipv4" netmask="255.255.0.0"/>
    </interface>${
      running
        ? `
    <emulab:vnode name="${m}" hardware_type="m510"/>
    <host name="node-${i}.big-exp.labrig-PG0.utah.cloudlab.us" ipv4="128.110.${216 + Math.floor(i / 250)}.${(i % 250) + 1}"/>`
        : ''
    }
    <services>${logins}
      <emulab:console server="boss.utah.cloudlab.us"/>
      <emulab:recovery available="true"/>
      <emulab:powercycle available="true"/>
    </services>
  </node>`);
    refs.push(`    <interface_ref client_id="interface-${i}"${running ? ` component_id="urn:publicid:IDN+utah.cloudlab.us+interface+${m}:eth1"` : ''}${sliver(320000 + i)}/>`);
  }
  const link = `  <link client_id="link-0"${sliver(330000)}${running ? ` vlantag="${opts.vlantag ?? 281}"` : ''}>
${refs.join('\n')}
    <component_manager name="${CM}"/>
    <link_type name="lan"/>
  </link>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<rspec xmlns="http://www.geni.net/resources/rspec/3" xmlns:emulab="http://www.protogeni.net/resources/rspec/ext/emulab/1" xmlns:tour="http://www.protogeni.net/resources/rspec/ext/apt-tour/1" xmlns:jacks="http://www.protogeni.net/resources/rspec/ext/jacks/1" xmlns:client="http://www.protogeni.net/resources/rspec/ext/client/1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.geni.net/resources/rspec/3 http://www.geni.net/resources/rspec/3/${type}.xsd" type="${type}"${running ? ' expires="2026-03-07T17:00:00Z"' : ''}>
  <rspec_tour xmlns="http://www.protogeni.net/resources/rspec/ext/apt-tour/1">
    <description type="markdown">${count} m510 nodes on one LAN.</description>
  </rspec_tour>
${nodes.join('\n')}
${link}
</rspec>
`;
}

/** 1-based line of the first line of `text` that matches. */
export function lineOf(text: string, match: RegExp): number {
  const i = text.split('\n').findIndex((l) => match.test(l));
  if (i === -1) throw new Error(`no line matches ${match}`);
  return i + 1;
}
