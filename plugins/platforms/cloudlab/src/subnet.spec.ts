/** Cluster network addresses: CIDR membership and `ip -o -4 addr show` parsing. */
import { describe, expect, it } from 'vitest';
import { inSubnet, parseIpAddrShow, parseSubnet, pickInSubnet } from './subnet.js';

const IP_OUTPUT = `1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: eno1    inet 128.110.218.12/21 metric 100 brd 128.110.223.255 scope global dynamic eno1\\       valid_lft 86000sec preferred_lft 86000sec
5: vlan286@enp94s0f0    inet 10.10.1.2/24 brd 10.10.1.255 scope global vlan286\\       valid_lft forever preferred_lft forever
`;

describe('subnets', () => {
  it('membership of 10.10.0.0/16 and of edge prefixes', () => {
    const s = parseSubnet('10.10.0.0/16');
    expect(['10.10.0.1', '10.10.255.254', '10.11.0.1', '10.1.0.1', 'x'].map((a) => inSubnet(a, s))).toEqual([true, true, false, false, false]);
    expect(inSubnet('8.8.8.8', parseSubnet('0.0.0.0/0'))).toBe(true);
    expect(inSubnet('10.10.1.2', parseSubnet('10.10.1.2/32'))).toBe(true);
    expect(() => parseSubnet('10.10.0.0')).toThrow(TypeError);
  });

  it('parses ip -o -4 addr show (VLAN names without their parent) and picks the cluster address', () => {
    const all = parseIpAddrShow(IP_OUTPUT);
    expect(all).toEqual([
      { interface: 'lo', address: '127.0.0.1', prefixLength: 8 },
      { interface: 'eno1', address: '128.110.218.12', prefixLength: 21 },
      { interface: 'vlan286', address: '10.10.1.2', prefixLength: 24 },
    ]);
    expect(pickInSubnet(all, parseSubnet('10.10.0.0/16'))?.interface).toBe('vlan286');
    expect(pickInSubnet(all, parseSubnet('192.168.0.0/16'))).toBeUndefined();
  });
});
