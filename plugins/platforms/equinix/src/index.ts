/**
 * @labrig/platform-equinix: Equinix Metal devices (and any bare-metal cloud that speaks the same
 * API) as a labrig platform. A platform file names it with `platform = "@labrig/platform-equinix"`;
 * the default export is the Platform object; @labrig/platform-kit/nx makes its Nx projects.
 */
export { createEquinixPlatform, equinixPlatform, type EquinixPlatformOptions } from './platform.js';
export { configSchema, loadEquinixConfig, hostnamePrefixOf, type EquinixConfig } from './config.js';
export { MetalClient, type MetalClientOptions, type RetryNotice } from './metal/client.js';
export type { MetalDevice, CreateDeviceRequest } from './metal/types.js';
export { deploymentTag, hostnameOf } from './naming.js';
export {
  MetalApiError,
  MetalTokenMissing,
  MetalUnavailable,
  DevicesNotActive,
  SshNotReady,
  TeardownIncomplete,
  StateMismatch,
  StateUnreadable,
  DuplicateHostname,
} from './errors.js';
export { equinixPlatform as default } from './platform.js';
