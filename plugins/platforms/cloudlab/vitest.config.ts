import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectTestConfig } from '../../../vitest.shared.js';

// Specs start testbeds on loopback: one file at a time.
export default projectTestConfig(dirname(fileURLToPath(import.meta.url)), { fileParallelism: false });
