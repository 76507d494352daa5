/**
 * @labrig/system-vhive: a vHive serverless cluster (Knative on Firecracker, gVisor or stock
 * containerd) set up with vHive's own scripts, as labrig targets: setup, deploy (with the kubeadm
 * join hand-off), status, teardown, functions-deploy, invoke, functions-delete.
 */
export { assignRoles, validateConfig, vhiveSystem, MASTER, WORKER, type Mode, type VhiveConfig } from './config.js';
export { planDeploy, planFunctionsDelete, planFunctionsDeploy, planInvoke, planSetup, planStatus, planTeardown, joinArgv, serviceNames, type FunctionSpec } from './plan.js';
