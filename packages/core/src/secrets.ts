/**
 * The process-wide secret registry: one list of secret values for everything a labrig process
 * writes (step logs, the journal, progress, summaries, errors, host output, JSON, dry-run plans).
 * Whatever learns a secret registers it here (`addSecret`): a system's `{ secret = NAME }` env
 * values, a code-defined system's `PlanContext.secrets`, values captured as secret from command
 * output, platform credentials read from the environment. The step engine's redactor and the
 * redaction of process.stdout/stderr (./output.ts) both read it, so they share one list.
 *
 * Besides each value, the forms it takes inside JSON text and inside single-quoted shell text
 * (quoted once or twice) are registered too, so a secret holding `"`, `\` or `'` is still caught
 * once serialised. Other transformations (base64, URL encoding, `echo` interpreting a `\b`, a
 * secret cut by a line wrap) are not.
 *
 * The registry lives on globalThis (under a Symbol.for key), so two copies of this module in
 * one process (a bundle and a plugin loaded beside it) still share it; inside the labrig agent
 * each command has its own (./scope.ts).
 */
import { createGrowingRedactor, liveStream, type GrowingRedactor, type Redactor, type StreamRedactor } from './redact.js';
import { currentScope } from './scope.js';

const KEY = Symbol.for('@labrig/core:secrets');

interface Registry {
  redactor: GrowingRedactor;
}

/**
 * The process's registry, or inside the labrig agent the current command's (./scope.ts): a
 * secret given to one command is never masked in, nor kept for, another, and is dropped with it.
 */
function registry(): Registry {
  const scope = currentScope();
  if (scope) return ((scope.secrets as Registry | undefined) ??= { redactor: createGrowingRedactor([]) }) as Registry;
  const g = globalThis as { [KEY]?: Registry };
  return (g[KEY] ??= { redactor: createGrowingRedactor([]) });
}

/**
 * The forms of a secret that are matched: itself; as inside '…' for sh, once and twice (a command
 * line quoted again inside another, as the launcher's `eval` does); and each of those as inside
 * a JSON string (the journal, `--output=json`).
 */
export function secretForms(value: string): string[] {
  const sh = (s: string): string => s.replace(/'/g, `'\\''`);
  const base = value.includes("'") ? [value, sh(value), sh(sh(value))] : [value];
  const forms = new Set(base);
  for (const b of base) forms.add(JSON.stringify(b).slice(1, -1));
  return [...forms];
}

/** Register a secret value: from now on nothing labrig writes shows it. Empty values are ignored. */
export function addSecret(value: string | undefined | null): void {
  if (typeof value !== 'string' || value === '') return;
  const r = registry().redactor;
  for (const f of secretForms(value)) r.add(f);
}

export function addSecrets(values: Iterable<string | undefined | null> | undefined | null): void {
  for (const v of values ?? []) addSecret(v);
}

/**
 * The registry's redactor: `redact`/`redactValue` use the secrets registered when called,
 * `stream()` follows the registry as it grows, `add` registers.
 */
export function secretRedactor(): Redactor & { add(secret: string): void } {
  return SHARED;
}

const SHARED: Redactor & { add(secret: string): void } = {
  get active() {
    return registry().redactor.active;
  },
  redact: (text) => registry().redactor.redact(text),
  redactValue: (value) => registry().redactor.redactValue(value),
  stream: (): StreamRedactor => liveStream(() => registry().redactor.current()),
  add: addSecret,
};

/** `text` with every registered secret replaced by `***`. */
export function redactSecrets(text: string): string {
  return registry().redactor.redact(text);
}

/**
 * JSON text of `value` with every registered secret hidden: redacted before serialisation (so
 * a secret holding characters JSON escapes is still found), any class turned into its JSON
 * form first.
 */
export function stringifyRedacted(value: unknown, space?: number): string {
  const text = JSON.stringify(value);
  if (text === undefined) return 'null';
  const r = registry().redactor;
  if (!r.active) return space ? JSON.stringify(JSON.parse(text), null, space) : text;
  return JSON.stringify(r.redactValue(JSON.parse(text) as unknown), null, space);
}

/** How many values (forms included) are registered. */
export function secretCount(): number {
  return registry().redactor.secrets.length;
}

/** Forget every registered secret (tests only: a labrig process never forgets one). */
export function resetSecretsForTests(): void {
  registry().redactor = createGrowingRedactor([]);
}
