/**
 * Config files: TOML parsed with smol-toml, validated with ajv (defaults filled in).
 * Every problem is ONE ConfigError naming the file (relative to the workspace when
 * possible), the field in TOML terms and what is expected.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
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
    ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, verbose: true, allowUnionTypes: true });
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

/** Read a config file's text; a missing or unreadable file is a ConfigError. */
export function readConfigText(file: string, opts: LoadConfigOptions = {}): string {
  const display = opts.displayPath ?? toDisplayPath(file);
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
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

/** Validate parsed data against a schema (fills defaults in place); one ConfigError when invalid. */
export function validateConfig<T>(data: unknown, file: string, schema: object): T {
  const validate = compileSchema(schema);
  if (!validate(data)) throw toConfigError(file, validate.errors ?? [], data);
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
