/**
 * A CloudLab manifest (same shape as fixtures/manifest.xml) whose nodes are testbed hosts: each
 * node's <login> is a testbed sshd (address, port, its own user), its <interface><ip> a cluster address.
 */
export interface ManifestEntry {
  name: string;
  hostname: string;
  port: number;
  user: string;
  clusterAddress: string;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function renderManifest(nodes: readonly ManifestEntry[]): string {
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
      <login authentication="ssh-keys" hostname="${esc(n.hostname)}" port="${n.port}" username="${esc(n.user)}"/>
      <emulab:console server="boss.utah.cloudlab.us"/>
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
