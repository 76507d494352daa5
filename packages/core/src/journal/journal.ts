/**
 * The run journal: `journal.jsonl`, one JSON object per line, durable (fdatasync).
 *
 * Group commit: `append` only queues the line. A single writer drains the queue: everything
 * queued so far is written with one write() and made durable with one fdatasync(); lines
 * appended meanwhile form the next batch, written right after. So 32 hosts finishing at once
 * cost one or two syncs, not 32. `flush()` resolves when every line appended before it is
 * on disk.
 */
import { open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

export const JOURNAL_FILE = 'journal.jsonl';

export interface JournalStats {
  lines: number;
  batches: number;
  bytes: number;
  /** Wall time from each batch start until it was durable, summed (includes waiting for the fs thread pool). */
  syncMs: number;
}

export interface JournalOptions {
  /** Make each batch durable (fdatasync). Default true. */
  sync?: boolean;
}

export class Journal {
  readonly file: string;
  readonly stats: JournalStats = { lines: 0, batches: 0, bytes: 0, syncMs: 0 };
  private queue: string[] = [];
  private writing: Promise<void> | undefined;
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    file: string,
    private readonly sync: boolean,
  ) {
    this.file = file;
  }

  /** Open (append to) `<dir>/journal.jsonl`. */
  static async open(dir: string, opts: JournalOptions = {}): Promise<Journal> {
    const file = path.join(dir, JOURNAL_FILE);
    const fh = await open(file, 'a');
    return new Journal(fh, file, opts.sync ?? true);
  }

  /** Queue one record (serialized as one line). Never throws; write errors surface in flush(). */
  append(record: object): void {
    if (this.closed) throw new Error(`journal ${this.file} is closed`);
    this.queue.push(`${JSON.stringify(record)}\n`);
    this.kick();
  }

  private kick(): void {
    if (this.failure) this.queue.length = 0; // the journal is broken: flush() reports it
    if (this.writing || this.queue.length === 0) return;
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
      this.kick(); // lines appended while the last batch was settling
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      const data = batch.join('');
      const t0 = performance.now();
      try {
        await this.fh.write(data);
        if (this.sync) await this.fh.datasync();
      } catch (e) {
        this.failure ??= new Error(`cannot write the run journal ${this.file}: ${(e as Error).message}`, { cause: e });
        return;
      }
      this.stats.syncMs += performance.now() - t0;
      this.stats.batches++;
      this.stats.lines += batch.length;
      this.stats.bytes += Buffer.byteLength(data);
    }
  }

  /** Wait until every appended line is durable. Rejects if a write failed. */
  async flush(): Promise<void> {
    while (this.writing || this.queue.length > 0) {
      if (this.failure) break;
      this.kick();
      await this.writing;
    }
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      await this.fh.close();
    }
  }
}

/** Read a journal back: one object per line. A torn last line (crash mid-write) is ignored. */
export async function readJournal<T = Record<string, unknown>>(dir: string): Promise<T[]> {
  const text = await readFile(path.join(dir, JOURNAL_FILE), 'utf8');
  const lines = text.split('\n');
  const out: T[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as T);
    } catch (e) {
      const last = lines.slice(i + 1).every((l) => l.trim() === '');
      if (!last) throw new Error(`${path.join(dir, JOURNAL_FILE)}: line ${i + 1} is not JSON`, { cause: e });
    }
  });
  return out;
}
