import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectTestConfig } from '../../vitest.shared.js';

export default projectTestConfig(dirname(fileURLToPath(import.meta.url)));
