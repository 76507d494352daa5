/**
 * A CloudLab manifest (same shape as fixtures/manifest.xml) whose nodes are testbed hosts: each
 * node's <login> is a testbed sshd (address, port, its user), its <interface><ip> a cluster address.
 * With `otherMembers`, every node also lists those project members' logins (same names on every node,
 * all at the node's sshd), as the real portal does: one login per member of the project.
 */
import { MEMBERS, esc, loginElement } from './portal-manifest.js';

/** Other project members whose logins a multi-login manifest lists on every node (no testbed user: they cannot log in). */
export const OTHER_MEMBERS: readonly string[] = MEMBERS.slice(0, 3);

export interface ManifestEntry {
  name: string;
  hostname: string;
  port: number;
  user: string;
  clusterAddress: string;
}

export interface RenderManifestOptions {
  /**
   * Other project members with a login on every node besides the node's `user` (e.g. OTHER_MEMBERS).
   * The node's `user` comes second, so the first login is not the one labrig must pick.
   * Default none: one login per node.
   */
  otherMembers?: readonly string[];
}

/** The users whose logins node `n` lists, in order. */
function usersOf(n: ManifestEntry, members: readonly string[]): string[] {
  const others = members.filter((m) => m !== n.user);
  return [...others.slice(0, 1), n.user, ...others.slice(1)];
}

export function renderManifest(nodes: readonly ManifestEntry[], opts: RenderManifestOptions = {}): string {
  const body = nodes
    .map(
      (n, i) => `  <node xmlns:emulab="http://www.protogeni.net/resources/rspec/ext/emulab/1" client_id="${esc(n.name)}" exclusive="true" component_manager_id="urn:publicid:IDN+utah.cloudlab.us+authority+cm" component_id="urn:publicid:IDN+utah.cloudlab.us+node+xl170-${100 + i}" sliver_id="urn:publicid:IDN+utah.cloudlab.us+sliver+${9000 + i}">
    <sliver_type name="raw-pc">
      <disk_image name="urn:publicid:IDN+emulab.net+image+emulab-ops//UBUNTU22-64-STD"/>
    </sliver_type>
    <hardware_type name="xl170"/>
    <interface client_id="${esc(n.name)}:eth1" component_id="urn:publicid:IDN+utah.cloudlab.us+interface+xl170-${100 + i}:eth1" sliver_id="urn:publicid:IDN+utah.cloudlab.us+sliver+${9100 + i}" mac_address="1c34da4b${(0x10 + i).toString(16)}00">
      <ip address="${esc(n.clusterAddress)}" type="ipv4" netmask="255.255.255.0"/>
    </interface>
    <emulab:vnode name="xl170-${100 + i}" hardware_type="xl170"/>
    <host name="${esc(n.name)}.labrig-test.labrig-PG0.utah.cloudlab.us" ipv4="${esc(n.hostname)}"/>
    <services>
${usersOf(n, opts.otherMembers ?? [])
  .map((u) => `      ${loginElement(n.hostname, n.port, u)}\n`)
  .join('')}      <emulab:console server="boss.utah.cloudlab.us"/>
    </services>
  </node>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<rspec xmlns="http://www.geni.net/resources/rspec/3" xmlns:emulab="http://www.protogeni.net/resources/rspec/ext/emulab/1" type="manifest" expires="2030-01-01T00:00:00Z">
${body}
</rspec>
`;
}
