/**
 * @labrig/platform-cloudlab: CloudLab experiments as a labrig platform. Hosts come from the
 * experiment's manifest (RSpec) or a servers.txt; prepare steps mount the big partition, set
 * kernel parameters (reboot), take a NUMA node's CPUs offline and find the cluster addresses;
 * the `link-test` target checks every host reaches every other one.
 *
 * The default export is the Platform; @labrig/platform-kit/nx makes each
 * configs/platforms/<name>/platform.toml naming this module an Nx project, with the `link-test`
 * target this package declares in its package.json (labrig.platform).
 */
export { cloudlabPlatform as default, cloudlabPlatform, artifactStoreOf } from './platform.js';
export { configSchema, loadCloudlabConfig, PLATFORM_MODULE, type CloudlabConfig, type KernelConfig, type NumaConfig, type PartitionConfig, type StoreConfig } from './config.js';
export { cloudlabInventory, assignRoles, LEADER, WORKER } from './inventory.js';
export { parseManifest, type ManifestNode, type ManifestLogin, type ManifestAddress } from './manifest.js';
export { parseServersFile, type ServerLine } from './servers-file.js';
export { REAL_SYSTEM, type HostSystem } from './host-system.js';
export { prepareSteps, CLUSTER_ADDRESS, KERNEL_PARAMS, MOUNT_PARTITION, NUMA_OFFLINE } from './steps/index.js';
export { checkHostsAnswer, requireAnswers, type AnswerCheck } from './provision.js';
export { runLinkTest, formatMatrix, linkTestStep, toMatrix, LINK_TEST, type LinkMatrix, type LinkProbe, type LinkTestOptions } from './link-test.js';
export { readClusterAddresses, CLUSTER_ADDRESSES_FILE, type ClusterAddressRecord } from './state.js';
export { HostsNotAnswering, KernelParamsMissing, PrepareRefused, RebootTimeout, PlatformStateError } from './errors.js';
