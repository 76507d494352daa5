/**
 * Everything a labrig process prints goes through the secret registry (./secrets.ts):
 * `installOutputRedaction()` replaces `process.stdout.write` and `process.stderr.write` (once per
 * process) with writes that redact every registered secret first. So host output, summaries,
 * errors, progress, JSON events and dry-run plans are covered whoever prints them (console.log,
 * a renderer, a library), and Nx, which keeps each task's terminal output in its cache, never
 * receives a secret.
 *
 * A secret may be split across two writes: the end of a write that could be the start of a
 * secret is held back until the next write (or a short timer, or exit, or `end`). Writes are
 * never lost or reordered: before one stream is written, what the other holds is written first.
 * When held text has to go out before the rest arrived (the timer, the other stream), the rest is
 * masked when it arrives, so the whole secret never appears in one piece (its start does).
 *
 * Without any registered secret, writes pass through untouched (bytes as given). With secrets,
 * Buffers are decoded as UTF-8 to be matched (invalid bytes become U+FFFD).
 *
 * Child processes started with inherited stdio write to the file descriptors directly, past this:
 * run local commands with `runStreamed` (./local/run-streamed.ts), which pipes their output here.
 */
import { currentScope } from './scope.js';
import { secretRedactor } from './secrets.js';
import type { Redactor, StreamRedactor } from './redact.js';

type WriteCallback = (err?: Error | null) => void;
type WriteFn = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
type EndFn = (chunk?: unknown, encoding?: unknown, cb?: unknown) => unknown;

/** A stream whose `write` (and `end`) can be replaced: process.stdout, process.stderr, or a test's. */
export interface PatchableStream {
  write: WriteFn;
  end?: EndFn;
}

export interface OutputRedaction {
  /** Write out what is held back on every stream now (as at exit). */
  flush(): void;
  /** Put the original `write`/`end` back (tests). */
  uninstall(): void;
}

export interface RedactWritesOptions {
  /** The redactor (default: the process-wide secret registry's). */
  redactor?: Redactor;
  /** How long held-back text waits for the next write. Default 50 ms. */
  flushMs?: number;
}

export const DEFAULT_OUTPUT_FLUSH_MS = 50;

const UTF8 = new Set(['utf8', 'utf-8', 'UTF8', 'UTF-8']);

function asInput(chunk: unknown, encoding: unknown): string | Buffer {
  if (typeof chunk === 'string') {
    return typeof encoding === 'string' && !UTF8.has(encoding) && Buffer.isEncoding(encoding) ? Buffer.from(chunk, encoding) : chunk;
  }
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return String(chunk);
}

/**
 * Replace `write` (and `end`) of each stream with a redacting one. The streams know of each
 * other: writing one first flushes what the others hold, so the order of writes is kept.
 */
export function redactWrites(streams: readonly PatchableStream[], o: RedactWritesOptions = {}): OutputRedaction {
  const redactor = o.redactor ?? secretRedactor();
  const flushMs = o.flushMs ?? DEFAULT_OUTPUT_FLUSH_MS;

  interface State {
    stream: PatchableStream;
    write: WriteFn;
    end: EndFn | undefined;
    sr: StreamRedactor;
    waiting: WriteCallback[];
    timer: NodeJS.Timeout | undefined;
  }
  const states: State[] = [];

  /** Hand `text` to the original write, with the callbacks of writes that had nothing to emit. */
  const emit = (s: State, text: string, cb?: WriteCallback): boolean => {
    const cbs = s.waiting;
    s.waiting = [];
    if (cb) cbs.push(cb);
    const done: WriteCallback | undefined = cbs.length ? (err) => cbs.forEach((f) => f(err)) : undefined;
    if (text === '') {
      if (done) process.nextTick(done);
      return true;
    }
    return s.write.call(s.stream, text, done);
  };

  const flushOne = (s: State): void => {
    if (s.timer) {
      clearTimeout(s.timer);
      s.timer = undefined;
    }
    if (s.sr.holding || s.waiting.length) emit(s, s.sr.flush());
  };

  for (const stream of streams) {
    const s: State = { stream, write: stream.write, end: stream.end, sr: redactor.stream(), waiting: [], timer: undefined };
    states.push(s);
    const others = (): State[] => states.filter((x) => x !== s);
    stream.write = function redactedWrite(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
      if (typeof encoding === 'function') {
        cb = encoding;
        encoding = undefined;
      }
      const callback = typeof cb === 'function' ? (cb as WriteCallback) : undefined;
      if (!redactor.active && !s.sr.holding) return s.write.call(stream, chunk, encoding, callback);
      for (const x of others()) if (x.sr.holding) flushOne(x);
      const out = s.sr.write(asInput(chunk, encoding));
      if (s.sr.holding && !s.timer) {
        s.timer = setTimeout(() => {
          s.timer = undefined;
          flushOne(s);
        }, flushMs);
        s.timer.unref?.();
      }
      if (out === '' && s.sr.holding) {
        if (callback) s.waiting.push(callback);
        return true;
      }
      return emit(s, out, callback);
    };
    if (s.end) {
      const end = s.end;
      stream.end = function redactedEnd(chunk?: unknown, encoding?: unknown, cb?: unknown): unknown {
        if (typeof chunk === 'function') return (flushOne(s), end.call(stream, chunk));
        if (typeof encoding === 'function') {
          cb = encoding;
          encoding = undefined;
        }
        if (chunk !== undefined && chunk !== null) stream.write(chunk, encoding);
        flushOne(s);
        return end.call(stream, cb);
      };
    }
  }

  return {
    flush() {
      for (const s of states) flushOne(s);
    },
    uninstall() {
      for (const s of states) {
        flushOne(s);
        s.stream.write = s.write;
        if (s.end) s.stream.end = s.end;
      }
    },
  };
}

const KEY = Symbol.for('@labrig/core:output-redaction');

/**
 * Redact every registered secret from process.stdout and process.stderr, for the rest of the
 * process (idempotent: the first call installs, later calls return the same handle). What is
 * held back is written out on a short timer, by `flushOutput()`, and at exit.
 */
export function installOutputRedaction(o: Pick<RedactWritesOptions, 'flushMs'> = {}): OutputRedaction {
  // Inside the labrig agent the command's streams are redacted by the agent itself (./scope.ts).
  const scope = currentScope();
  if (scope) return { flush: () => scope.flushOutput?.(), uninstall: () => undefined };
  const g = globalThis as { [KEY]?: OutputRedaction };
  const installed = g[KEY];
  if (installed) return installed;
  const r = redactWrites([process.stdout as unknown as PatchableStream, process.stderr as unknown as PatchableStream], o);
  const onExit = (): void => r.flush();
  process.on('exit', onExit);
  const handle: OutputRedaction = {
    flush: r.flush,
    uninstall() {
      process.off('exit', onExit);
      r.uninstall();
      delete g[KEY];
    },
  };
  g[KEY] = handle;
  return handle;
}

/** Write out what the output redaction holds back (no-op when it is not installed). */
export function flushOutput(): void {
  const scope = currentScope();
  if (scope) return scope.flushOutput?.();
  (globalThis as { [KEY]?: OutputRedaction })[KEY]?.flush();
}
