import { describe, expect, it } from 'vitest';
import type { Host } from '../contracts.js';
import { copyTargets } from './shared-fs.js';

const h = (name: string, labels: Record<string, string> = {}, roles: string[] = ['worker']): Host => ({ name, address: '127.0.0.1', port: 22, user: 'u', roles, labels });

describe('copyTargets', () => {
  it('one host per shared filesystem (its login host when it has one), every host that shares nothing', () => {
    const shared = { sharedFilesystem: 'true', filesystem: 'slurm:login' };
    const hosts = [h('n1', shared), h('login', shared, ['login']), h('n2', shared), h('solo'), h('apart', { sharedFilesystem: 'false' })];
    expect(copyTargets(hosts).map((x) => x.name)).toEqual(['login', 'solo', 'apart']);
    expect(copyTargets([h('n1', shared), h('n2', shared)]).map((x) => x.name)).toEqual(['n1']);
    expect(copyTargets([h('a'), h('b')]).map((x) => x.name)).toEqual(['a', 'b']);
  });
});
