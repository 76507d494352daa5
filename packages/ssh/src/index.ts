export { SshPool } from './pool.js';
export type { SshPoolOptions, SshPoolStats, SshPoolEvent } from './pool.js';
export { acquireSshPool, enableSharedPools } from './shared.js';
export type { SshPoolLike, SharedPools, SharedPoolInfo } from './shared.js';
export { SshRemote } from './remote.js';
export { buildCommandText } from './exec.js';
export { FINALIZE_FILE_SCRIPT } from './transfer.js';
export { Semaphore } from './semaphore.js';
export { resolveHost } from './resolve-host.js';
export type { ResolvedHost, ResolveContext } from './resolve-host.js';
export {
  parseSshConfig,
  loadSshConfig,
  matchSshConfig,
  matchHostPatterns,
  matchGlob,
  expandIdentityFile,
  parseProxyJump,
} from './ssh-config.js';
export type { SshConfig, SshConfigEntry, SshConfigMatch, JumpSpec } from './ssh-config.js';
export {
  hostKeyName,
  parseKnownHosts,
  hostFieldMatches,
  checkHostKey,
  fingerprint,
  verifyHostKey,
} from './known-hosts.js';
export type { HostKeyPolicy, KnownHostLine, HostKeyCheck } from './known-hosts.js';
export { mapConnectError } from './errors-map.js';
export {
  DEPLOY_KEYS_DIR,
  REMOTE_KEYS_DIR,
  ensureDeployKey,
  deleteDeployKey,
  authorizeDeployKey,
  placeDeployKey,
  revokeDeployKey,
  deployKeyMarker,
  remoteDeployKeyFile,
  knownHostsFor,
} from './deploy-key.js';
export type { DeployKey } from './deploy-key.js';
