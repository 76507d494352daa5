/**
 * @labrig/system-sigmaos: SigmaOS (github.com/mit-pdos/sigmaos) as a labrig system: build with its
 * build.sh, push binaries to S3 and images to a registry, set up hosts, deploy leader then
 * followers (swarm join token handed over), stop, status, bench.
 */
export { sigmaos, configSchema, clusterHosts, kernelId, clusterAddress, leaderFirst, withEnv, IMAGES, type SigmaosConfig } from './config.js';
export { setupPlan, deployPlan, stopPlan, statusPlan, benchPlan, kernelArgs, type ClusterOptions } from './plan.js';
export { readBuildManifest, BUILD_MANIFEST, type BuildManifest, type BuiltFile, type BuiltImage } from './build.js';
