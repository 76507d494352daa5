/**
 * The server's settings, from the environment (LABRIG_CACHE_*): where entries are stored (an S3
 * bucket on AWS or any S3 API server), where it listens, the tokens, the size limit. A bad value
 * is one error naming the variable, the value and what is expected.
 */
import { readFileSync } from 'node:fs';

export interface Token {
  /** How the token appears in logs (never the token itself). */
  id: string;
  write: boolean;
}

export interface CacheServerConfig {
  bucket: string;
  /** S3 API endpoint; AWS S3 itself when unset (credentials: the standard AWS chain). */
  endpoint?: string;
  region: string;
  prefix: string;
  forcePathStyle: boolean;
  host: string;
  port: number;
  /** Largest entry accepted, in bytes. */
  maxBytes: number;
  tokens: Map<string, Token>;
}

export class ConfigValueError extends Error {
  constructor(
    readonly variable: string,
    value: string | undefined,
    expected: string,
  ) {
    super(`${variable}: ${value === undefined ? 'not set' : `got ${JSON.stringify(value)}`}, expected ${expected}`);
    this.name = 'ConfigValueError';
  }
}

function parseSize(variable: string, v: string): number {
  const m = /^(\d+)\s*(|k|m|g)(?:i?b)?$/i.exec(v.trim());
  if (!m) throw new ConfigValueError(variable, v, 'a size such as 500m, 2g or 1048576');
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * mult;
}

/** Tokens from LABRIG_CACHE_{READ,WRITE}_TOKENS (comma-separated) or *_TOKENS_FILE (one per line). */
function readTokens(env: NodeJS.ProcessEnv): Map<string, Token> {
  const tokens = new Map<string, Token>();
  for (const [kind, write] of [
    ['READ', false],
    ['WRITE', true],
  ] as const) {
    const listVar = `LABRIG_CACHE_${kind}_TOKENS`;
    const fileVar = `LABRIG_CACHE_${kind}_TOKENS_FILE`;
    let text = env[listVar] ?? '';
    if (env[fileVar]) {
      try {
        text += `\n${readFileSync(env[fileVar], 'utf8')}`;
      } catch (e) {
        throw new ConfigValueError(fileVar, env[fileVar], `a readable file of tokens, one per line (${(e as Error).message})`);
      }
    }
    const list = text.split(/[,\n]/).map((t) => t.trim()).filter(Boolean);
    for (const [i, t] of list.entries()) {
      if (t.length < 16) throw new ConfigValueError(listVar, `(token ${i + 1}: ${t.length} characters)`, 'tokens of at least 16 characters');
      tokens.set(t, { id: `${kind.toLowerCase()}-${i + 1}`, write });
    }
  }
  if (![...tokens.values()].some((t) => t.write)) {
    throw new ConfigValueError('LABRIG_CACHE_WRITE_TOKENS', undefined, 'at least one read-write token (comma-separated; generate one with `openssl rand -hex 24`)');
  }
  return tokens;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): CacheServerConfig {
  const bucket = env['LABRIG_CACHE_BUCKET'];
  if (!bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigValueError('LABRIG_CACHE_BUCKET', bucket, 'an S3 bucket name');
  const port = Number(env['LABRIG_CACHE_PORT'] ?? '3333');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigValueError('LABRIG_CACHE_PORT', env['LABRIG_CACHE_PORT'], 'a TCP port (0 = any free port)');
  const endpoint = env['LABRIG_CACHE_S3_ENDPOINT'];
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) throw new ConfigValueError('LABRIG_CACHE_S3_ENDPOINT', endpoint, 'an http(s) URL');
  return {
    bucket,
    ...(endpoint ? { endpoint } : {}),
    region: env['LABRIG_CACHE_S3_REGION'] ?? env['AWS_REGION'] ?? 'us-east-1',
    prefix: (env['LABRIG_CACHE_PREFIX'] ?? 'nx-cache').replace(/^\/+|\/+$/g, ''),
    forcePathStyle: endpoint !== undefined,
    host: env['LABRIG_CACHE_HOST'] ?? '127.0.0.1',
    port,
    maxBytes: parseSize('LABRIG_CACHE_MAX_SIZE', env['LABRIG_CACHE_MAX_SIZE'] ?? '2g'),
    tokens: readTokens(env),
  };
}
