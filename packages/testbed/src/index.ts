/**
 * @labrig/testbed: real sshd hosts on loopback (one unix user, host key, pid file and log each;
 * with `sharedUser`, one user name on every host, each host with its own home), an optional login
 * host with hosts reachable only through it (a network namespace), the services (S3, OCI
 * registry, Slurm), and fault injection.
 */
export type {
  TestbedHost,
  TestbedNetns,
  TestbedRegistry,
  TestbedS3,
  TestbedSlurm,
  TestbedState,
  UpOptions,
} from './types.js';
export { TestbedError, type TestbedErrorCode } from './errors.js';
export { toHost } from './host.js';
export { up, normalizeOptions, type UpHooks, type UpProgress } from './up.js';
export { down, type DownResult } from './down.js';
export { status, type HostStatus, type TestbedStatus } from './status.js';
export { loadState, readState, statePath, allHosts, findHost } from './state.js';
export { kill, freeze, thaw, restart, rotateHostKey, acceptedConnections } from './faults.js';
export { fingerprint } from './keys.js';
export { defaultDir, testbedId, LOGIN_HOST_NAME } from './naming.js';
export { tcpProbe, probe, type ProbeResult } from './probe.js';
export { sshConfigPath, knownHostsPath, renderSshConfig } from './sshconfig.js';
export { parseRate, uplinkBytes } from './netns.js';
