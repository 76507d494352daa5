/** `nx run cache-server:serve`: the Nx remote cache server, configured from LABRIG_CACHE_* (docs/cache-server.md). */
import { readConfig, ConfigValueError } from './config.js';
import { createCacheServer } from './server.js';
import { createS3Storage } from './storage.js';

try {
  const cfg = readConfig();
  const storage = createS3Storage(cfg);
  const server = createCacheServer(cfg, storage);
  server.listen(cfg.port, cfg.host, () => {
    const a = server.address();
    const port = typeof a === 'object' && a ? a.port : cfg.port;
    console.log(`labrig cache server on http://${cfg.host}:${port} -> s3://${cfg.bucket}/${cfg.prefix}${cfg.endpoint ? ` at ${cfg.endpoint}` : ''}; ${cfg.tokens.size} token(s); entries up to ${cfg.maxBytes} bytes`);
  });
  const stop = () => server.close(() => (storage.close(), process.exit(0)));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (e) {
  if (e instanceof ConfigValueError) {
    console.error(`✖ ${e.message}\n  hint: set it in the environment (docs/cache-server.md lists the LABRIG_CACHE_* variables).`);
    process.exit(2);
  }
  throw e;
}
