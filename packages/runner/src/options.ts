/**
 * Command-line options against an executor's schema.json, as Nx parses them for an executor:
 * `--dry-run`, `--dryRun`, `--no-dry-run`, `--output=plain`, `--output plain`; types coerced,
 * enums and patterns checked, defaults applied. An unknown or invalid option is an OptionError
 * naming the option, the value and what is expected.
 */
import { OptionError } from '@labrig/core';

export interface OptionsSchema {
  properties?: Record<string, { type?: string; enum?: unknown[]; default?: unknown; description?: string; pattern?: string; minimum?: number }>;
  required?: string[];
  [k: string]: unknown;
}

const camel = (s: string) => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function expectedOf(p: NonNullable<OptionsSchema['properties']>[string] | undefined): string {
  if (!p) return 'a known option';
  if (p.enum) return `one of ${p.enum.map(String).join(' | ')}`;
  // Durations (`^0*[1-9][0-9]*(ms|s|m|h)$`) in words, as config errors say them.
  if (p.pattern?.includes('(ms|s|m|h)')) return `a duration${new RegExp(p.pattern).test('0s') ? '' : ' above zero'} (a whole number and ms, s, m or h, e.g. 500ms, 30s, 5m, 1h)`;
  if (p.pattern) return `a ${p.type ?? 'value'} matching ${p.pattern}`;
  if (p.type === 'integer') return `a whole number${p.minimum !== undefined ? ` >= ${p.minimum}` : ''}`;
  return `a ${p.type ?? 'value'}`;
}

/**
 * Check and convert one value by the schema's type, enum, pattern and minimum: the subset of JSON
 * Schema executor schemas use. (Not ajv: compiling a validator costs ~50 ms per command.)
 */
function coerce(option: string, raw: unknown, p: NonNullable<OptionsSchema['properties']>[string]): unknown {
  let v = raw;
  const bad = () => new OptionError(option, raw, expectedOf(p));
  switch (p.type) {
    case 'boolean':
      if (v === 'true' || v === true) v = true;
      else if (v === 'false' || v === false) v = false;
      else throw bad();
      break;
    case 'integer':
    case 'number':
      v = typeof v === 'number' ? v : String(v).trim() === '' ? NaN : Number(v);
      if (!Number.isFinite(v as number) || (p.type === 'integer' && !Number.isInteger(v))) throw bad();
      if (p.minimum !== undefined && (v as number) < p.minimum) throw bad();
      break;
    case 'string':
      v = String(v);
      if (p.pattern !== undefined && !new RegExp(p.pattern).test(v as string)) throw bad();
      break;
    default:
      break;
  }
  if (p.enum && !p.enum.includes(v)) throw bad();
  return v;
}

/** Parse `argv` into the executor's options (throws OptionError). */
export function parseOptions(argv: readonly string[], schema: OptionsSchema): Record<string, unknown> {
  const props = schema.properties ?? {};
  const known = () => Object.keys(props).map((k) => `--${kebab(k)}`).join(', ');
  const out: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([^=]+)(?:=([\s\S]*))?$/.exec(arg);
    if (!m) throw new OptionError('(positional)', arg, `options of the form --name=value (known: ${known()})`);
    let name = camel(m[1]!);
    let value: unknown = m[2];
    if (!(name in props) && name.startsWith('no') && m[2] === undefined) {
      const positive = name.slice(2, 3).toLowerCase() + name.slice(3);
      if (props[positive]?.type === 'boolean') {
        name = positive;
        value = false;
      }
    }
    const p = props[name];
    if (!p) {
      if (schema['additionalProperties'] !== true) throw new OptionError(kebab(name), value ?? true, `one of the known options: ${known()}`);
      out[name] = value ?? (i + 1 < argv.length && !argv[i + 1]!.startsWith('--') ? argv[++i] : true); // kept as typed
      continue;
    }
    if (value === undefined) {
      if (p.type === 'boolean') value = true;
      else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) value = argv[++i];
      else throw new OptionError(kebab(name), true, expectedOf(p));
    }
    out[name] = value;
  }
  for (const [name, p] of Object.entries(props)) {
    if (name in out) out[name] = coerce(kebab(name), out[name], p);
    else if (p.default !== undefined) out[name] = p.default;
  }
  for (const name of schema.required ?? []) {
    if (out[name] === undefined) throw new OptionError(kebab(name), undefined, `${expectedOf(props[name])} (required)`);
  }
  return out;
}
