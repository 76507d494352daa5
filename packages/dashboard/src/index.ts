export { startDashboard, type Dashboard, type DashboardOptions } from './server.js';
export { listRuns, readRun, stepLogTail, type RunDetail, type RunSummary } from './runs.js';
export { CoordinatorReader, listExperiments, readExperiment, plotSvg, type ExperimentDetail, type ExperimentSummary } from './experiments.js';
