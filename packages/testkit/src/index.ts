export { checkPlatformContract, ContractFailed, type CheckResult, type PlatformContractOptions } from './platform-contract.js';
export { checkSystemContract, type SystemContractOptions } from './system-contract.js';
