export { checkPlatformContract, ContractFailed, type CheckResult, type PlatformContractOptions } from './platform-contract.js';
export { checkSystemContract, type SystemContractOptions } from './system-contract.js';
export {
  executorContext,
  expectSuccess,
  findLastRun,
  hostError,
  hostStatuses,
  lastRun,
  runExecutor,
  tempWorkspace,
  type ExecutorRun,
  type JournalEvent,
} from './executors.js';
