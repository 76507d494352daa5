import { describe, expect, it } from 'vitest';
import { runnerTarget } from './target.js';

describe('runnerTarget', () => {
  it('runs labrig-run with the executor, project, root and fixed options; configurations add args', () => {
    const t = runnerTarget('@labrig/system-generic:task', 'demo', 'targets/demo', {
      options: { task: 'load', dryRun: true },
      configurations: { local: { platform: 'local' }, 'my lab': { platform: "it's" } },
      defaultConfiguration: 'local',
    });
    expect(t.executor).toBe('nx:run-commands');
    expect(t.options).toEqual({ command: 'labrig-run @labrig/system-generic:task demo targets/demo --task=load --dry-run=true' });
    expect(t.configurations).toEqual({ local: { args: '--platform=local' }, 'my lab': { args: `--platform='it'\\''s'` } });
    expect(t.defaultConfiguration).toBe('local');
  });

  it('quotes a project root with spaces', () => {
    expect(runnerTarget('p:e', 'x', 'targets/my system').options).toEqual({ command: "labrig-run p:e x 'targets/my system'" });
  });
});
