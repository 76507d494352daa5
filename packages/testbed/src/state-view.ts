/**
 * `@labrig/testbed/state`: reading a running testbed (its state file, its hosts as core Hosts)
 * without loading what starts one (execa, sshd, Slurm, S3 set-up). Platform plugins that only
 * look at the testbed import this.
 */
export { loadState, allHosts } from './state.js';
export { toHost } from './host.js';
export type { TestbedHost, TestbedState } from './types.js';
