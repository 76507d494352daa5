/**
 * Redaction of secret values in logs, the journal and progress output.
 *
 * `createRedactor(secrets)` replaces every occurrence of each secret with `***`.
 * Streams are cut into chunks at arbitrary places, so `redactor.stream()` returns a
 * stateful redactor that holds back the last `max(secret length) - 1` characters of
 * what it has seen until more arrives (or `end()`), so a secret split over two chunks
 * is still caught. Buffers are decoded as UTF-8 (a multi-byte character split over
 * chunks is kept whole); lengths are counted in UTF-16 code units.
 */
import { StringDecoder } from 'node:string_decoder';

export const REDACTED = '***';

export interface StreamRedactor {
  /** Feed a chunk; returns the redacted text that is safe to emit now (maybe ''). */
  write(chunk: string | Buffer): string;
  /** No more input: returns the held-back rest, redacted. */
  end(): string;
}

export interface Redactor {
  /** True when there is at least one secret (otherwise every method is the identity). */
  readonly active: boolean;
  redact(text: string): string;
  /** Redact every string inside a JSON-like value (objects, arrays); returns a copy. */
  redactValue<T>(value: T): T;
  stream(): StreamRedactor;
}

/** Escape a string for use as a literal inside a RegExp. */
function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Secrets worth matching: non-empty, deduplicated, longest first (so the longest wins at a position). */
export function normalizeSecrets(secrets: readonly (string | undefined | null)[]): string[] {
  const set = new Set<string>();
  for (const s of secrets) if (typeof s === 'string' && s.length > 0) set.add(s);
  return [...set].sort((a, b) => b.length - a.length);
}

export function createRedactor(secrets: readonly (string | undefined | null)[]): Redactor {
  const list = normalizeSecrets(secrets);
  if (list.length === 0) return IDENTITY;
  const pattern = new RegExp(list.map(escapeRegExp).join('|'), 'g');
  const hold = (list[0]?.length ?? 1) - 1;

  const redact = (text: string): string => (text.length === 0 ? text : text.replace(pattern, REDACTED));

  const redactValue = <T>(value: T): T => redactDeep(value, redact) as T;

  const stream = (): StreamRedactor => {
    const decoder = new StringDecoder('utf8');
    let pending = '';
    return {
      write(chunk) {
        const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
        const buf = pending + text;
        // Anything starting before `cut` that could be a secret lies wholly inside `buf`.
        const cut = Math.max(0, buf.length - hold);
        let out = '';
        let pos = 0;
        pattern.lastIndex = 0;
        for (let m = pattern.exec(buf); m !== null; m = pattern.exec(buf)) {
          if (m.index >= cut) break; // may be the start of a longer secret: decide later
          out += buf.slice(pos, m.index) + REDACTED;
          pos = m.index + m[0].length;
        }
        if (pos < cut) {
          out += buf.slice(pos, cut);
          pending = buf.slice(cut);
        } else {
          pending = buf.slice(pos);
        }
        return out;
      },
      end() {
        const rest = pending + decoder.end();
        pending = '';
        return redact(rest);
      },
    };
  };

  return { active: true, redact, redactValue, stream };
}

const IDENTITY: Redactor = {
  active: false,
  redact: (t) => t,
  redactValue: (v) => v,
  stream: () => {
    const decoder = new StringDecoder('utf8');
    return {
      write: (c) => (typeof c === 'string' ? c : decoder.write(c)),
      end: () => decoder.end(),
    };
  },
};

function redactDeep(value: unknown, redact: (s: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact));
  if (value instanceof Error) {
    return { name: value.name, message: redact(value.message) };
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, redact);
    return out;
  }
  return value;
}

/**
 * A redactor whose secrets can grow while a run goes on (a join token captured from one host's
 * output must be hidden from everything logged after). Streams opened before a secret is added
 * keep the secrets they started with.
 */
export function createGrowingRedactor(initial: readonly (string | undefined | null)[]): Redactor & { add(secret: string): void } {
  const secrets = normalizeSecrets(initial);
  let current = createRedactor(secrets);
  return {
    get active() {
      return current.active;
    },
    redact: (text) => current.redact(text),
    redactValue: (value) => current.redactValue(value),
    stream: () => current.stream(),
    add(secret: string) {
      if (!secret || secrets.includes(secret)) return;
      secrets.push(secret);
      current = createRedactor(secrets);
    },
  };
}
