/**
 * Redaction of secret values in logs, the journal and everything labrig prints.
 *
 * `createRedactor(secrets)` replaces every occurrence of each secret with `***`.
 * Streams are cut into chunks at arbitrary places, so `redactor.stream()` returns a
 * stateful redactor that holds back the end of what it has seen while that end could be the
 * start of a secret (the longest suffix that is a proper prefix of a secret), until more
 * arrives (or `flush()`, `end()`), so a secret split over two chunks is still caught. Buffers
 * are decoded as UTF-8 (a multi-byte character split over chunks is kept whole); lengths are
 * counted in UTF-16 code units.
 *
 * `flush()` gives up waiting (a timer, another stream about to be written): the held-back text
 * goes out, and the stream remembers it, so that when the rest of a secret arrives next, that
 * rest is masked (the full secret never appears in one piece; its flushed start does).
 */
import { StringDecoder } from 'node:string_decoder';

export const REDACTED = '***';

export interface StreamRedactor {
  /** Feed a chunk; returns the redacted text that is safe to emit now (maybe ''). */
  write(chunk: string | Buffer): string;
  /** Emit what is held back now (redacted); the rest of a secret it started is masked when it arrives. */
  flush(): string;
  /** No more input: returns the held-back rest, redacted. */
  end(): string;
  /** True while some text is held back (not yet emitted). */
  readonly holding: boolean;
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

/**
 * What a stream redactor does with one buffer: `buf` is the held-back text plus the new chunk,
 * of which the first `emitted` characters already went out (flushed). Returns the text to emit
 * now and the new held-back state.
 */
type Scan = (buf: string, emitted: number, final: boolean) => { out: string; rest: string; emitted: number };

const scanners = new WeakMap<Redactor, Scan>();

function makeScan(list: readonly string[], pattern: RegExp): Scan {
  const longest = list[0]?.length ?? 0;
  const firsts = new Set(list.map((s) => s[0]!));
  /** The first position from which the rest of `buf` is a proper prefix of a secret (buf.length: none). */
  const undecidedFrom = (buf: string): number => {
    for (let p = Math.max(0, buf.length - longest + 1); p < buf.length; p++) {
      if (!firsts.has(buf[p]!)) continue;
      const tail = buf.slice(p);
      if (list.some((s) => s.length > tail.length && s.startsWith(tail))) return p;
    }
    return buf.length;
  };
  return (buf, emitted, final) => {
    const cut = final ? buf.length : undecidedFrom(buf);
    let out = '';
    let pos = 0;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(buf); m !== null; m = pattern.exec(buf)) {
      if (m.index >= cut) break; // may be the start of a longer secret: decide later
      const end = m.index + m[0].length;
      if (end > emitted) {
        out += buf.slice(Math.max(pos, emitted), Math.max(m.index, emitted)) + REDACTED;
      }
      pos = end;
    }
    const from = Math.max(pos, cut);
    out += buf.slice(Math.max(pos, emitted), Math.max(from, emitted));
    return { out, rest: buf.slice(from), emitted: Math.max(0, emitted - from) };
  };
}

/**
 * A stream redactor over whatever redactor `current()` returns at each write (a registry that
 * grows while the stream is open: a secret added later is caught in what is still held back and
 * in everything after).
 */
export function liveStream(current: () => Redactor): StreamRedactor {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let emitted = 0; // leading characters of `pending` already emitted (by a flush)
  const step = (text: string, final: boolean): string => {
    const buf = pending + text;
    const scan = scanners.get(current());
    if (!scan) {
      // No secrets (yet): everything goes out, nothing to hold.
      const out = buf.slice(emitted);
      pending = '';
      emitted = 0;
      return out;
    }
    const r = scan(buf, emitted, final);
    pending = r.rest;
    emitted = r.emitted;
    return r.out;
  };
  return {
    get holding() {
      return pending.length > emitted;
    },
    write: (chunk) => step(typeof chunk === 'string' ? chunk : decoder.write(chunk), false),
    flush() {
      const buf = pending;
      const out = step('', true);
      // Keep what went out as context: the rest of a secret it started is masked when it comes.
      pending = buf;
      emitted = buf.length;
      return out;
    },
    end() {
      const out = step(decoder.end(), true);
      pending = '';
      emitted = 0;
      return out;
    },
  };
}

export function createRedactor(secrets: readonly (string | undefined | null)[]): Redactor {
  const list = normalizeSecrets(secrets);
  if (list.length === 0) return IDENTITY;
  const pattern = new RegExp(list.map(escapeRegExp).join('|'), 'g');

  const redact = (text: string): string => (text.length === 0 ? text : text.replace(pattern, REDACTED));
  const redactValue = <T>(value: T): T => redactDeep(value, redact) as T;
  const r: Redactor = { active: true, redact, redactValue, stream: () => liveStream(() => r) };
  scanners.set(r, makeScan(list, pattern));
  return r;
}

const IDENTITY: Redactor = {
  active: false,
  redact: (t) => t,
  redactValue: (v) => v,
  stream: () => liveStream(() => IDENTITY),
};

function redactDeep(value: unknown, redact: (s: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact));
  if (value instanceof Error) {
    return { name: value.name, message: redact(value.message) };
  }
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, redact);
    return out;
  }
  return value;
}

export interface GrowingRedactor extends Redactor {
  add(secret: string): void;
  /** A stream that follows the secrets as they grow (see liveStream). */
  liveStream(): StreamRedactor;
  /** The secrets so far (longest first). */
  readonly secrets: readonly string[];
  /** A redactor of the secrets so far (it does not grow). */
  current(): Redactor;
}

/**
 * A redactor whose secrets can grow while a run goes on (a join token captured from one host's
 * output must be hidden from everything logged after). Streams from `stream()` keep the secrets
 * they started with; those from `liveStream()` follow.
 */
export function createGrowingRedactor(initial: readonly (string | undefined | null)[]): GrowingRedactor {
  let secrets = normalizeSecrets(initial);
  let current = createRedactor(secrets);
  return {
    get active() {
      return current.active;
    },
    get secrets() {
      return secrets;
    },
    redact: (text) => current.redact(text),
    redactValue: (value) => current.redactValue(value),
    stream: () => current.stream(),
    liveStream: () => liveStream(() => current),
    current: () => current,
    add(secret: string) {
      if (!secret || secrets.includes(secret)) return;
      secrets = normalizeSecrets([...secrets, secret]);
      current = createRedactor(secrets);
    },
  };
}
