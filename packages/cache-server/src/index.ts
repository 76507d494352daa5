export { readConfig, ConfigValueError, type CacheServerConfig, type Token } from './config.js';
export { createCacheServer } from './server.js';
export { createS3Storage, type EntryStorage } from './storage.js';
