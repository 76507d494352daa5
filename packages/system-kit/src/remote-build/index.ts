export { normalizeArch, ociArch, sameArch } from './arch.js';
export { listSources, type SourceFile } from './sources.js';
export {
  RemoteBuildFailed,
  describeRemoteBuild,
  placeBuild,
  runRemoteBuildOn,
  type BuildPlacementOptions,
  type ResolvedPlacement,
  remoteBuildDir,
  resolveBuildHost,
  runRemoteBuild,
  syncSources,
  type FetchedOutput,
  type RemoteBuildResult,
  type RemoteBuildSpec,
  type SyncReport,
} from './remote-build.js';
export { buildTargetConfigurations, readBuildPlacement, type BuildPlacement } from './placement.js';
