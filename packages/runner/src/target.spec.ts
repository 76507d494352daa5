import { describe, expect, it } from 'vitest';
import { optionArgs, runnerTarget } from './target.js';

describe('runnerTarget', () => {
  it("runs the runner's executor with the labrig executor, root and fixed options as data; configurations add args", () => {
    const t = runnerTarget('@labrig/system-generic:task', 'targets/demo', {
      options: { task: 'load', dryRun: true },
      configurations: { local: { platform: 'local' }, 'my lab': { platform: `it's "$HOME" $(id) \`x\`` } },
    });
    expect(t.executor).toBe('@labrig/runner:run');
    expect(t.options).toEqual({ executor: '@labrig/system-generic:task', projectRoot: 'targets/demo', args: ['--task=load', '--dry-run=true'] });
    // No quoting anywhere: the values are array elements, never shell text.
    expect(t.configurations).toEqual({ local: { args: ['--platform=local'] }, 'my lab': { args: [`--platform=it's "$HOME" $(id) \`x\``] } });
    expect(t.defaultConfiguration).toBeUndefined();
  });

  it('keeps a project root with spaces as it is', () => {
    expect(runnerTarget('p:e', 'targets/my system').options).toEqual({ executor: 'p:e', projectRoot: 'targets/my system', args: [] });
  });

  it('spells option names as the command line does', () => {
    expect(optionArgs({ failurePolicy: 'continue', n: 2, x: false })).toEqual(['--failure-policy=continue', '--n=2', '--x=false']);
  });
});
