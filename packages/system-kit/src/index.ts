/**
 * @labrig/system-kit — what every system plugin shares:
 * - the Nx entry (`@labrig/system-kit/nx`): targets/<name>/system.toml → projects and targets;
 * - plans (steps × hosts × actions) and their interpreter: dry-run listings and journaled engine runs;
 * - code-defined systems: the system file with the plugin's schema, roles, one executor per target.
 */
export { createDependencies, createNodesV2, peekSystemFile, readSystemMeta, systemTargets, SYSTEM_FILES, type DeclaredSystemTarget, type SystemMeta } from './nodes.js';
export { sha256, type Action, type Capture, type PlannedStep, type SkipWhen, type StepOutputs } from './steps/plan.js';
export {
  captureValue,
  capturedOutputs,
  formatPlan,
  placeholderOutputs,
  printHostOutputs,
  runPlanned,
  toEngineSteps,
  type ActionsOutput,
  type PlanContext,
  type RunOverrides,
} from './steps/interpret.js';
export { fetchArtifact, openStore, remoteHome } from './steps/store.js';
export {
  firstHosts,
  openCodeSystem,
  planExecutor,
  projectRootOf,
  requirePlatformName,
  runOverrides,
  systemName,
  type CodeSystemContext,
  type CommonOptions,
  type PlanExecutorOptions,
  type SystemDefinition,
} from './define.js';
export * from './remote-build/index.js';
export { prepareSender } from './steps/host-copy.js';
export { CHAIN_RECEIVER, sendChain, type ChainCopy, type ChainHostResult, type ChainProgress, type ChainResult } from './steps/chain.js';
export {
  ChainCopyFailed,
  formatChainProgress,
  planChainDistribution,
  platformDistribution,
  platformKnownHostsFile,
  usesChain,
  type ChainAction,
  type ChainFile,
  type DistributeMode,
} from './steps/distribute.js';
