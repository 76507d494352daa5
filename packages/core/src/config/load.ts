/**
 * Config files: TOML parsed with smol-toml, validated with ajv (defaults filled in).
 * Every problem is ONE ConfigError naming the file (relative to the workspace when
 * possible), the field in TOML terms and what is expected.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Ajv, ValidateFunction } from 'ajv';
import { parse, TomlError } from 'smol-toml';
import { ConfigError } from '../errors.js';
import { toConfigError } from './explain.js';
import { toDisplayPath } from './workspace.js';

export interface LoadConfigOptions {
  /** How the file is named in messages. Default: relative to the workspace root. */
  displayPath?: string;
}

let ajv: Ajv | undefined;
const compiled = new WeakMap<object, ValidateFunction>();

/** The shared ajv instance: strict schemas, all errors (we pick one), defaults filled in. */
function getAjv(): Ajv {
  if (!ajv) {
    // Loaded on first use: a config whose validation is cached never needs it (~60 ms to load).
    const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    ajv = new AjvClass({ allErrors: true, useDefaults: true, strict: true, verbose: true, allowUnionTypes: true });
    // Formats labrig schemas use (ajv-formats is not a dependency).
    ajv.addFormat('hostname', /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/);
    ajv.addFormat('ipv4', /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/);
    ajv.addFormat('uri', /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/);
  }
  return ajv;
}

/** Compile (once per schema object). A broken schema is a bug in labrig or a plugin: plain Error. */
export function compileSchema(schema: object): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    try {
      v = getAjv().compile(schema);
    } catch (e) {
      const id = (schema as { $id?: string }).$id ?? (schema as { title?: string }).title ?? '(anonymous schema)';
      throw new Error(`invalid JSON schema ${id}: ${(e as Error).message}`, { cause: e });
    }
    compiled.set(schema, v);
  }
  return v;
}

/** Config files larger than this are refused (a config is a page of TOML, not data). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** The file's bytes as text, or a ConfigError when they are not a config file's (binary, huge). */
function checkText(bytes: Buffer, display: string): string {
  const restore = `A config file is UTF-8 TOML text: restore ${display} from version control or start again from an example under configs/.`;
  if (bytes.length > MAX_CONFIG_BYTES) {
    throw new ConfigError(display, '', `is ${(bytes.length / 1024 / 1024).toFixed(1)} MiB; a config file larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB is refused`, { hint: restore });
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new ConfigError(display, '', `is not a text file (a NUL byte at offset ${nul})`, { hint: restore });
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError(display, '', 'is not UTF-8 text (binary data or another encoding)', { hint: restore });
  }
}

/** Read a config file's text; a missing, unreadable, binary or huge file is a ConfigError. */
export function readConfigText(file: string, opts: LoadConfigOptions = {}): string {
  const display = opts.displayPath ?? toDisplayPath(file);
  try {
    return checkText(readFileSync(file), display);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError(display, '', 'file not found', {
        cause: e,
        hint: `Create ${display} (the configs/ folder has examples) or pass the path of an existing file.`,
      });
    }
    if (code === 'EISDIR') {
      throw new ConfigError(display, '', 'is a directory, expected a TOML file', { cause: e });
    }
    throw new ConfigError(display, '', `cannot be read (${code ?? (e as Error).message})`, {
      cause: e,
      hint: `Check that ${display} is readable by this user.`,
    });
  }
}

/** Parse TOML text; a syntax error becomes a ConfigError with line and column. */
export function parseToml(text: string, file: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const what = e.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/, '');
      throw new ConfigError(file, '', `invalid TOML: ${what}`, {
        cause: e,
        line: e.line,
        column: e.column,
        detail: e.codeblock.trimEnd(),
        hint: `Fix the TOML syntax at line ${e.line}, column ${e.column} of ${file}.`,
      });
    }
    throw new ConfigError(file, '', `invalid TOML: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Where validated configs are remembered: `$XDG_CACHE_HOME/labrig/valid-config` (default
 * `~/.cache/...`), or LABRIG_CONFIG_CACHE; `off` disables it.
 */
function validCacheDir(): string | undefined {
  const env = process.env['LABRIG_CONFIG_CACHE'];
  if (env === 'off') return undefined;
  if (env) return env;
  return join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'labrig', 'valid-config');
}

/**
 * The cache key of (schema, data), or undefined when the data holds values JSON cannot carry
 * exactly (TOML dates, big integers): those are always validated afresh.
 */
function validKey(schema: object, data: unknown): string | undefined {
  let plain = true;
  let text: string;
  try {
    text = JSON.stringify([schema, data], function (this: Record<string, unknown>, k: string, v: unknown) {
      const raw = this[k];
      if (raw instanceof Date || typeof raw === 'bigint' || (typeof raw === 'number' && !Number.isFinite(raw))) plain = false;
      return v;
    });
  } catch {
    return undefined;
  }
  return plain ? createHash('sha256').update(text).digest('hex') : undefined;
}

/**
 * Validate parsed data against a schema (defaults filled in); one ConfigError when invalid.
 * A valid result is remembered by the digest of (schema, data): the next command with the same
 * file and schema reads it back instead of compiling the schema (~50 ms per schema with ajv).
 */
export function validateConfig<T>(data: unknown, file: string, schema: object): T {
  const dir = validCacheDir();
  const key = dir ? validKey(schema, data) : undefined;
  if (dir && key) {
    try {
      return JSON.parse(readFileSync(join(dir, `${key}.json`), 'utf8')) as T;
    } catch {
      /* not remembered (or unreadable): validate */
    }
  }
  const validate = compileSchema(schema);
  if (!validate(data)) throw toConfigError(file, validate.errors ?? [], data);
  if (dir && key) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = join(dir, `${key}.${process.pid}.tmp`);
      writeFileSync(tmp, JSON.stringify(data), { mode: 0o600 });
      renameSync(tmp, join(dir, `${key}.json`));
    } catch {
      /* a cache that cannot be written is only slower */
    }
  }
  return data as T;
}

/** TOML text → validated config. `file` is the name used in messages. */
export function parseConfig<T>(text: string, file: string, schema: object): T {
  return validateConfig<T>(parseToml(text, file), file, schema);
}

/** Read, parse and validate a TOML config file. */
export function loadConfigFile<T>(file: string, schema: object, opts: LoadConfigOptions = {}): T {
  const display = opts.displayPath ?? toDisplayPath(file);
  return parseConfig<T>(readConfigText(file, { displayPath: display }), display, schema);
}
