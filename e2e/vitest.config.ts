import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectTestConfig } from '../vitest.shared.js';

// Every spec here runs the real `nx` CLI in a temporary workspace: one file at a time (2 cores).
export default projectTestConfig(dirname(fileURLToPath(import.meta.url)), { fileParallelism: false, testTimeout: 600_000 });
