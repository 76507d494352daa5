/** The kernel's cpulist format (node CPUs). */
import { describe, expect, it } from 'vitest';
import { parseCpuList } from './numa.js';

describe('parseCpuList', () => {
  it('ranges and single CPUs; empty when the node has none online', () => {
    expect(parseCpuList('20-23,60,62-63\n')).toEqual([20, 21, 22, 23, 60, 62, 63]);
    expect(parseCpuList('\n')).toEqual([]);
    expect(() => parseCpuList('3-1')).toThrow(TypeError);
    expect(() => parseCpuList('a-b')).toThrow(TypeError);
  });
});
