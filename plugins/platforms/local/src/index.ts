/**
 * @labrig/platform-local — the `local` platform: testbed hosts on this machine.
 *
 * As an Nx plugin (listed in nx.json `plugins`), it turns every `configs/platforms/<name>/platform.toml`
 * whose `platform` is "@labrig/platform-local" into an Nx project `<name>` with the targets
 * `up`, `down`, `hosts` and `exec`.
 */
export { localPlatform, startTestbed, platformContext } from './platform.js';
export { loadLocalConfig, configSchema, DEFAULT_CONFIG_FILE, type LocalPlatformConfig } from './config.js';
export { hostsFromTestbed, filterHosts } from './inventory.js';
export { runCommand, type RunCommandOptions } from './run-command.js';
export { localPlatform as default } from './platform.js';
