import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { platformOf } from '../../../lib/launch.mjs';

const { normalizeOptions } = createRequire(import.meta.url)('./executor.cjs') as {
  normalizeOptions: (options: Record<string, unknown>, context: Record<string, unknown>) => { root: string; ref: string; project: string; projectRoot: string; argv: string[] };
};

const target = {
  executor: '@labrig/runner:run',
  options: { executor: '@labrig/system-generic:exec', projectRoot: 'targets/demo', args: ['--task=x'] },
  configurations: { local: { args: ['--platform=local'] } },
};

describe('the run executor: normalizeOptions', () => {
  it('takes fixed and configuration options from the target, then the command line exactly as typed', () => {
    const typed = ['--cmd=echo "$HOME" $(id -un) `x` !1 \\ ;&&\n\t', '--n=007', '--x=1e3', '--flag', '--=', '-'];
    const o = normalizeOptions(
      // Nx's parse of the same line: numbers and booleans coerced (lossy), plus the raw line.
      { executor: '@labrig/system-generic:exec', projectRoot: 'targets/demo', args: ['--task=x'], cmd: 'echo', n: 7, x: 1000, flag: true, commandLine: typed },
      { root: '/ws', projectName: 'demo', configurationName: 'local', target },
    );
    expect(o).toEqual({ root: '/ws', ref: '@labrig/system-generic:exec', project: 'demo', projectRoot: 'targets/demo', argv: ['--task=x', '--platform=local', ...typed] });
  });

  it('ignores a typed option that would replace the target definition', () => {
    const o = normalizeOptions(
      { executor: 'evil:pkg', projectRoot: '/', args: ['--platform=other'], commandLine: ['--executor=evil:pkg'] },
      { root: '/ws', projectName: 'demo', configurationName: 'local', target },
    );
    expect(o.ref).toBe('@labrig/system-generic:exec');
    expect(o.projectRoot).toBe('targets/demo');
    expect(o.argv).toEqual(['--task=x', '--platform=local', '--executor=evil:pkg']);
  });

  it('runs without a configuration, and names a broken target definition', () => {
    expect(normalizeOptions({ commandLine: [] }, { root: '/ws', projectName: 'demo', target }).argv).toEqual(['--task=x']);
    expect(() => normalizeOptions({}, { root: '/ws', target: { options: { projectRoot: 'x' } } })).toThrow(/option "executor": expected <package>:<executor>/);
    expect(() => normalizeOptions({}, { root: '/ws', target: { options: { executor: 'a:b', projectRoot: 'x', args: '--x' } } })).toThrow(/option "args": expected an array of strings/);
  });
});

describe('platformOf: the platform modules a command may load', () => {
  it('is the last --platform given, else the platform project being run, else all (undefined)', () => {
    expect(platformOf('targets/demo', ['--platform=a', '--x=1', '--platform', 'b'])).toBe('b');
    expect(platformOf('configs/platforms/local', ['--config=configs/platforms/local/platform.toml'])).toBe('local');
    expect(platformOf('targets/demo', ['--plan=demo-sweep'])).toBeUndefined();
    // An option value that only mentions --platform is not the option.
    expect(platformOf('targets/demo', ['--cmd=--platform=x'])).toBeUndefined();
  });
});
