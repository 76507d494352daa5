export {
  assignRoles,
  checkRoles,
  createSshPool,
  filterHosts,
  formatInventory,
  platformFileOfContext,
  resolveFromRoot,
  rolesFor,
  runDefaultsOf,
  withCommonSections,
  type CheckRolesOptions,
  type ArtifactsSection,
  type BuildSection,
  type CommonSections,
  type RunSection,
  type SshSection,
} from './common.js';
export { inventoryOf, openPlatform } from './open.js';
export { formatOutputs, printCommandResult, runCommand, type RunCommandOptions, type RunCommandResult } from './run-command.js';
export { withStateLock, writeJsonDurably } from './state-file.js';
