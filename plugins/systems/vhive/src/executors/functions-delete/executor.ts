/** functions-delete: kn service delete --all on the master. */
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import { vhiveSystem, type VhiveConfig } from '../../config.js';
import { planFunctionsDelete } from '../../plan.js';

export default planExecutor<VhiveConfig, CommonOptions>(vhiveSystem, 'functions-delete', (sys) => planFunctionsDelete(sys), { printOutputs: true });
