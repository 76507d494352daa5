/**
 * Prepare steps of the aws platform: EC2 quirks applied before a system's setup. cloud-init keeps
 * working after sshd answers (user data, package upgrades holding the apt lock, authorized_keys),
 * so setup waits for it; hosts without cloud-init (other images) skip the step.
 */
import type { Step } from '@labrig/core';
import { CommandFailed } from '@labrig/core';
import type { AwsPlatformConfig } from './config.js';

/** Done when cloud-init finished its boot, or is not installed. */
const CLOUD_INIT_DONE = 'test -e /var/lib/cloud/instance/boot-finished || ! command -v cloud-init >/dev/null 2>&1';

export function prepareSteps(cfg: AwsPlatformConfig): Step[] {
  if (!cfg.prepare.waitCloudInit) return [];
  return [
    {
      name: 'wait-cloud-init',
      title: 'wait until cloud-init has finished',
      check: async ({ remote }) => (await remote.shell(CLOUD_INIT_DONE, { allowFailure: true })).exitCode === 0,
      // `--wait` polls on the host; its exit status is 0 when done (2: done with recoverable errors).
      run: async ({ remote, host, log, signal }) => {
        const r = await remote.exec(['cloud-init', 'status', '--wait'], { allowFailure: true, signal });
        log(r.stdout.trim());
        if (r.exitCode !== 0 && r.exitCode !== 2) {
          throw new CommandFailed(host.name, 'cloud-init status --wait', r, { hint: `cloud-init failed on ${host.name}: see /var/log/cloud-init-output.log there (user data, package installs).` });
        }
      },
      timeoutMs: 15 * 60_000,
    },
  ];
}
