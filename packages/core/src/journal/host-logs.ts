/**
 * Per host and step log files: `<run>/logs/<host>/<step>.log`, holding everything the step
 * ran on that host (a `$ command` header, its stdout and stderr as they stream, the exit),
 * plus lines the step wrote with `ctx.log`. Everything is redacted on the way in.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import path from 'node:path';
import type { Redactor, StreamRedactor } from '../redact.js';

/** A name usable as one path component (host and step names are mostly safe already). */
export function safeFileName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._@+-]/g, '_');
  return s === '' || s === '.' || s === '..' ? `_${s}` : s;
}

export function stepLogPath(runDir: string, host: string, step: string): string {
  return path.join(runDir, 'logs', safeFileName(host), `${safeFileName(step)}.log`);
}

/** Output of one command, streamed into the step log. */
export interface CommandLog {
  stdout(chunk: Buffer | string): void;
  stderr(chunk: Buffer | string): void;
  /** Flush what the redactors held back and write a footer line. */
  end(footer?: string): void;
}

const TAIL_KEEP = 8 * 1024;

export class StepLog {
  readonly file: string;
  private readonly out: WriteStream;
  private closed = false;
  private tail = '';
  private error: Error | undefined;

  constructor(
    runDir: string,
    readonly host: string,
    readonly step: string,
    private readonly redactor: Redactor,
  ) {
    this.file = stepLogPath(runDir, host, step);
    mkdirSync(path.dirname(this.file), { recursive: true });
    this.out = createWriteStream(this.file, { flags: 'a' });
    this.out.on('error', (e) => {
      this.error ??= e;
    });
  }

  private write(text: string): void {
    if (this.closed || text === '') return;
    this.out.write(text);
  }

  /** A line from labrig or the step (`ctx.log`). */
  line(text: string): void {
    this.write(`${this.redactor.redact(text.replace(/\n$/, ''))}\n`);
  }

  /** Start a command's section: `$ <command line>` then its output. */
  command(header: string): CommandLog {
    this.line(`$ ${header}`);
    const so: StreamRedactor = this.redactor.stream();
    const se: StreamRedactor = this.redactor.stream();
    let lastChar = '\n';
    const put = (t: string): void => {
      if (t === '') return;
      lastChar = t[t.length - 1]!;
      this.write(t);
    };
    const putErr = (t: string): void => {
      if (t === '') return;
      this.tail = (this.tail + t).slice(-TAIL_KEEP);
      put(t);
    };
    return {
      stdout: (c) => put(so.write(c)),
      stderr: (c) => putErr(se.write(c)),
      end: (footer) => {
        put(so.end());
        putErr(se.end());
        if (lastChar !== '\n') this.write('\n');
        if (footer) this.line(footer);
      },
    };
  }

  /** Forget the stderr seen so far (a new attempt starts). */
  resetTail(): void {
    this.tail = '';
  }

  /** The last `n` non-empty lines of stderr written since the last reset (redacted). */
  stderrTail(n = 3): string {
    return this.tail
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(-n)
      .join('\n');
  }

  /** Close the file (later writes, e.g. from a timed-out command still dying, are dropped). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      this.out.end(() => resolve());
      this.out.once('error', () => resolve());
    });
  }

  get writeError(): Error | undefined {
    return this.error;
  }
}
