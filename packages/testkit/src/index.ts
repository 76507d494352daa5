export { checkPlatformContract, ContractFailed, type CheckResult, type PlatformContractOptions } from './platform-contract.js';
