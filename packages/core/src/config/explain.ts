/**
 * Turns ajv's list of validation errors into ONE ConfigError that names the field in
 * TOML terms (`hosts[2].port`) and says what is expected.
 *
 * Choosing the error: ajv (with `allErrors`) may report many, including the noise of every
 * failed alternative of a `oneOf`/`anyOf`. Errors outside alternatives come first, ranked
 * unknown key > missing field > wrong type > enum/const > other constraints. When only
 * alternatives failed, the alternative that matched best (fewest errors at its own level)
 * is explained; when every alternative failed on the type alone, the message lists the
 * types accepted.
 */
import type { ErrorObject } from 'ajv';
import { ConfigError } from '../errors.js';

const RANK: Record<string, number> = {
  additionalProperties: 0,
  unevaluatedProperties: 0,
  required: 1,
  dependentRequired: 1,
  dependencies: 1,
  type: 2,
  enum: 3,
  const: 3,
};
const COMBINATORS = new Set(['oneOf', 'anyOf', 'not', 'if']);

/** JSON pointer → its unescaped segments. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

function keyPart(key: string, first: boolean): string {
  const k = BARE_KEY.test(key) ? key : JSON.stringify(key);
  return first ? k : `.${k}`;
}

/** A JSON pointer into `data` → a TOML-style path: `hosts[2].port`, `ssh."odd key"`. */
export function toTomlPath(data: unknown, pointer: string, extraKey?: string): string {
  let out = '';
  let node: unknown = data;
  for (const seg of pointerSegments(pointer)) {
    if (Array.isArray(node)) {
      out += `[${seg}]`;
      node = node[Number(seg)];
    } else {
      out += keyPart(seg, out === '');
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
    }
  }
  if (extraKey !== undefined) out += keyPart(extraKey, out === '');
  return out;
}

/** How a TOML value is called in messages: `the string "22"`, `the integer 3`, `a table`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v)}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  if (typeof v === 'bigint') return `the integer ${v}`;
  if (typeof v === 'boolean') return `the boolean ${v}`;
  if (v instanceof Date) return `the date-time ${v.toISOString()}`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'a table';
  return typeof v;
}

const TYPE_NAMES: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean (true or false)',
  object: 'a table',
  array: 'an array',
  null: 'null',
};

function typeList(t: unknown): string[] {
  const raw = Array.isArray(t) ? t : String(t).split(',');
  return raw.map((x) => String(x).trim()).filter((x) => x !== '');
}

function orList(items: string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

export function expectedTypes(t: unknown): string {
  return orList(typeList(t).map((x) => TYPE_NAMES[x] ?? x));
}

function branchDepth(e: ErrorObject, base: string): number {
  const rest = e.schemaPath.startsWith(base) ? e.schemaPath.slice(base.length) : e.schemaPath;
  return (rest.match(/\/(oneOf|anyOf)\/\d+(\/|$)/g) ?? []).length;
}

function rankOf(e: ErrorObject): number {
  if (COMBINATORS.has(e.keyword)) return 9;
  return RANK[e.keyword] ?? 4;
}

function depthOf(e: ErrorObject): number {
  return pointerSegments(e.instancePath).length;
}

function sortErrors(errors: ErrorObject[]): ErrorObject[] {
  return errors
    .map((e, i) => ({ e, i }))
    .sort((a, b) => rankOf(a.e) - rankOf(b.e) || depthOf(b.e) - depthOf(a.e) || a.i - b.i)
    .map((x) => x.e);
}

/** Either a chosen ajv error, or a synthesized "expected one of these types" message. */
type Choice = { error: ErrorObject } | { typeUnion: { instancePath: string; types: string[]; data: unknown } };

/** Pick the most useful error (see the module comment). */
export function chooseError(errors: ErrorObject[], base = ''): Choice | undefined {
  const within = errors.filter((e) => e.schemaPath.startsWith(base));
  if (within.length === 0) return undefined;
  const plain = within.filter((e) => branchDepth(e, base) === 0 && !COMBINATORS.has(e.keyword));
  if (plain.length > 0) return { error: sortErrors(plain)[0]! };

  // Only alternatives failed: find the outermost oneOf/anyOf error and explain its best branch.
  const combs = within
    .filter((e) => (e.keyword === 'oneOf' || e.keyword === 'anyOf') && branchDepth(e, base) === 0)
    .sort((a, b) => depthOf(a) - depthOf(b));
  const comb = combs[0];
  if (!comb) return { error: sortErrors(within)[0]! };
  // A oneOf that matched several branches is its own problem.
  if (comb.keyword === 'oneOf' && (comb.params as { passingSchemas?: unknown }).passingSchemas) {
    return { error: comb };
  }
  const prefix = `${comb.schemaPath}/`;
  const branches = new Map<string, ErrorObject[]>();
  for (const e of within) {
    if (!e.schemaPath.startsWith(prefix)) continue;
    const idx = e.schemaPath.slice(prefix.length).split('/')[0] ?? '';
    const list = branches.get(idx) ?? [];
    list.push(e);
    branches.set(idx, list);
  }
  if (branches.size === 0) {
    // Branches behind a $ref report schema paths inside the referenced schema: fall back to
    // the most useful concrete error under the alternative's value.
    const under = within.filter((e) => !COMBINATORS.has(e.keyword) && e.instancePath.startsWith(comb.instancePath));
    return { error: under.length > 0 ? sortErrors(under)[0]! : comb };
  }

  const list = [...branches.values()];
  const typeOnly = list.every(
    (b) => b.length === 1 && b[0]!.keyword === 'type' && b[0]!.instancePath === comb.instancePath,
  );
  if (typeOnly) {
    const types = [...new Set(list.flatMap((b) => typeList(b[0]!.params['type'])))];
    return { typeUnion: { instancePath: comb.instancePath, types, data: comb.data } };
  }
  // Best branch: not failing on the type of the value itself, then fewest errors at its own level.
  const score = (b: ErrorObject[]): number =>
    b.reduce((s, e) => {
      if (e.instancePath !== comb.instancePath) return s + 1;
      if (e.keyword === 'type') return s + 1000;
      if (e.keyword === 'additionalProperties' || e.keyword === 'required') return s + 10;
      return s + 1;
    }, 0);
  let best: [string, ErrorObject[]] | undefined;
  for (const entry of branches) if (!best || score(entry[1]) < score(best[1])) best = entry;
  return chooseError(best![1], `${prefix}${best![0]}`) ?? { error: comb };
}

/** Edit distance counting an adjacent transposition as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate when it is close enough to be a typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.min(3, Math.floor(Math.max(word.length, best.length) / 3)));
  return bestD <= limit ? best : undefined;
}

/**
 * Names for a message, kept readable when there are many: at most `max` (default 8) listed,
 * then `and N more`; `(none)` for an empty list.
 */
export function listNames(names: readonly string[], max = 8): string {
  if (names.length === 0) return '(none)';
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

function fmtList(values: unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(', ');
}

/** One ajv error (or a type union) → field path and problem text. */
export function explainError(choice: Choice, data: unknown): { field: string; problem: string } {
  if ('typeUnion' in choice) {
    const { instancePath, types, data: value } = choice.typeUnion;
    return {
      field: toTomlPath(data, instancePath),
      problem: `expected ${orList(types.map((t) => TYPE_NAMES[t] ?? t))}, got ${describeValue(value)}`,
    };
  }
  const e = choice.error;
  const p = e.params as Record<string, unknown>;
  const field = toTomlPath(data, e.instancePath);
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  const isInt = parent['type'] === 'integer';
  const num = isInt ? 'an integer' : 'a number';
  switch (e.keyword) {
    case 'type':
      return { field, problem: `expected ${expectedTypes(p['type'])}, got ${describeValue(e.data)}` };
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const key = String(p['additionalProperty'] ?? p['unevaluatedProperty']);
      const props = Object.keys((parent['properties'] as Record<string, unknown> | undefined) ?? {});
      const guess = didYouMean(key, props);
      let problem = `unknown key \`${key}\``;
      if (guess) problem += ` (did you mean \`${guess}\`?)`;
      problem += props.length ? `; allowed keys here: ${props.join(', ')}` : '; no keys are allowed here';
      return { field: toTomlPath(data, e.instancePath, key), problem };
    }
    case 'required': {
      const key = String(p['missingProperty']);
      return { field: toTomlPath(data, e.instancePath, key), problem: `missing required field \`${key}\`` };
    }
    case 'dependentRequired':
    case 'dependencies':
      return {
        field: toTomlPath(data, e.instancePath, String(p['missingProperty'])),
        problem: `missing field \`${String(p['missingProperty'])}\`, required when \`${String(p['property'])}\` is set`,
      };
    case 'enum':
      return {
        field,
        problem: `expected one of ${fmtList((p['allowedValues'] as unknown[]) ?? [])}, got ${describeValue(e.data)}`,
      };
    case 'const':
      return { field, problem: `expected ${fmtList([p['allowedValue']])}, got ${describeValue(e.data)}` };
    case 'pattern': {
      const pattern = String(p['pattern']);
      // Duration fields (`^[0-9]+(ms|s|m|h)$`, its above-zero and compound forms) are explained as durations.
      if (pattern.includes('(ms|s|m|h)')) {
        const aboveZero = !new RegExp(pattern).test('0s');
        return { field, problem: `expected a duration${aboveZero ? ' above zero' : ''} (a whole number and ms, s, m or h, e.g. 500ms, 30s, 5m, 1h), got ${describeValue(e.data)}` };
      }
      const desc = typeof parent['description'] === 'string' ? ` (${parent['description']})` : '';
      return {
        field,
        problem: `expected a string matching /${String(p['pattern'])}/${desc}, got ${describeValue(e.data)}`,
      };
    }
    case 'format':
      return { field, problem: `expected a valid ${String(p['format'])}, got ${describeValue(e.data)}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const op = { minimum: '>=', maximum: '<=', exclusiveMinimum: '>', exclusiveMaximum: '<' }[e.keyword];
      return { field, problem: `expected ${num} ${op} ${String(p['limit'])}, got ${describeValue(e.data)}` };
    }
    case 'multipleOf':
      return { field, problem: `expected a multiple of ${String(p['multipleOf'])}, got ${describeValue(e.data)}` };
    case 'minLength':
    case 'maxLength': {
      const word = e.keyword === 'minLength' ? 'at least' : 'at most';
      return {
        field,
        problem: `expected a string of ${word} ${String(p['limit'])} characters, got ${describeValue(e.data)}`,
      };
    }
    case 'minItems':
    case 'maxItems': {
      const word = e.keyword === 'minItems' ? 'at least' : 'at most';
      const n = Array.isArray(e.data) ? e.data.length : '?';
      return { field, problem: `expected ${word} ${String(p['limit'])} items, got ${n}` };
    }
    case 'minProperties':
    case 'maxProperties': {
      const word = e.keyword === 'minProperties' ? 'at least' : 'at most';
      return { field, problem: `expected a table with ${word} ${String(p['limit'])} keys` };
    }
    case 'uniqueItems': {
      // ajv reports the pair in either order (it depends on the item type): name the later one.
      const [first, later] = [Number(p['i']), Number(p['j'])].sort((a, b) => a - b);
      return {
        field: `${field}[${String(later)}]`,
        problem: `duplicate of ${field}[${String(first)}]; items must be unique`,
      };
    }
    case 'propertyNames':
      return {
        field: toTomlPath(data, e.instancePath, String(p['propertyName'])),
        problem: `key \`${String(p['propertyName'])}\` is not a valid name here`,
      };
    case 'oneOf':
      return p['passingSchemas']
        ? { field, problem: 'matches more than one of the allowed forms; make it unambiguous' }
        : { field, problem: `does not match any allowed form (${e.message ?? 'oneOf'})` };
    case 'anyOf':
      return { field, problem: 'does not match any allowed form' };
    case 'not':
      return { field, problem: `this value is not allowed here: ${describeValue(e.data)}` };
    default:
      return { field, problem: e.message ?? `fails the \`${e.keyword}\` rule` };
  }
}

/** ajv errors for a validated file → one ConfigError. */
export function toConfigError(file: string, errors: ErrorObject[], data: unknown): ConfigError {
  const choice = chooseError(errors);
  if (!choice) return new ConfigError(file, '', 'invalid (the schema rejected it without saying why)');
  const { field, problem } = explainError(choice, data);
  return new ConfigError(file, field, problem);
}
