import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectTestConfig } from '../../vitest.shared.js';

// The integration specs each start a testbed (sshd hosts, S3, registry) in 127.0.50.0/24: one file at a time.
export default projectTestConfig(dirname(fileURLToPath(import.meta.url)), { fileParallelism: false });
