/**
 * Terminal progress with listr2: one row per host showing its current step and attempt, with
 * done/failed marks. Rows change only on engine events (attempts, host ends), never per output
 * chunk, and listr2 redraws at most on its spinner tick and on those changes. The summary
 * table follows when the run ends.
 */
import { Listr, ListrLogger, ProcessOutput } from 'listr2';
import type { ListrTaskWrapper } from 'listr2';
import type { RunEvent } from '../events.js';
import { formatDuration } from './format.js';
import { describeHostEnd } from './plain.js';
import type { Renderer } from './renderer.js';
import { formatSummary } from './summary.js';

export interface TtyRendererOptions {
  stream?: NodeJS.WritableStream;
  /** listr2 renderer: `default` on a terminal; `simple`/`test` for tests. */
  listrRenderer?: 'default' | 'simple' | 'test' | 'silent';
  summary?: boolean;
  color?: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Task = ListrTaskWrapper<any, any, any>;

interface Row {
  host: string;
  title: string;
  task?: Task;
  steps: number;
  finish: (r: { kind: 'done' } | { kind: 'failed'; message: string } | { kind: 'skip'; message: string }) => void;
  finished: boolean;
}

export function createTtyRenderer(opts: TtyRendererOptions = {}): Renderer {
  const stream = opts.stream ?? process.stdout;
  const rows = new Map<string, Row>();
  let running: Promise<unknown> | undefined;
  let summary: string | undefined;

  const setTitle = (row: Row, title: string): void => {
    if (row.title === title) return;
    row.title = title;
    if (row.task) row.task.title = title;
  };
  const label = (host: string): string => (host === 'local' ? 'local (coordinator)' : host);

  const start = (hosts: string[]): void => {
    const width = Math.max(...hosts.map((h) => label(h).length), 4);
    const tasks = hosts.map((host) => {
      let finish!: Row['finish'];
      const done = new Promise<{ kind: 'done' } | { kind: 'failed'; message: string } | { kind: 'skip'; message: string }>(
        (resolve) => (finish = resolve),
      );
      const row: Row = { host, title: `${label(host).padEnd(width)}  waiting`, steps: 0, finish, finished: false };
      rows.set(host, row);
      return {
        title: row.title,
        task: async (_ctx: unknown, task: Task): Promise<void> => {
          row.task = task;
          task.title = row.title;
          const r = await done;
          if (r.kind === 'failed') throw new Error(r.message);
          if (r.kind === 'skip') task.skip(r.message);
        },
      };
    });
    // listr2 types its streams as tty.WriteStream; any writable works for what it does with them.
    const out = stream as NodeJS.WriteStream;
    const logger = new ListrLogger({ processOutput: new ProcessOutput(out, out) });
    const listr = new Listr(tasks, {
      concurrent: true,
      exitOnError: false,
      // listr2 would exit(127) on Ctrl-C; labrig's own handler (../interrupt.ts) aborts the run and journals its end.
      registerSignalListeners: false,
      renderer: opts.listrRenderer ?? 'default',
      fallbackRenderer: 'simple',
      rendererOptions: { logger, collapseErrors: false, showErrorMessage: true, collapseSkips: false },
      fallbackRendererOptions: { logger },
    });
    running = listr.run().catch(() => undefined);
  };

  const pad = (host: string): string => {
    const width = Math.max(...[...rows.keys()].map((h) => label(h).length), 4);
    return label(host).padEnd(width);
  };

  const onEvent = (e: RunEvent): void => {
    switch (e.type) {
      case 'run-start':
        start(e.hosts);
        return;
      case 'attempt-start': {
        const row = rows.get(e.host);
        if (row && !row.finished) setTitle(row, `${pad(e.host)}  ${e.step}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`);
        return;
      }
      case 'attempt-end': {
        const row = rows.get(e.host);
        if (row && !row.finished && e.retryInMs !== undefined) {
          setTitle(row, `${pad(e.host)}  ${e.step}: attempt ${e.attempt} failed (${e.error?.code ?? 'error'}), retry in ${formatDuration(e.retryInMs)}`);
        }
        return;
      }
      case 'host-recover': {
        const row = rows.get(e.host);
        if (row && !row.finished) setTitle(row, `${pad(e.host)}  ${e.step}: unreachable; ${e.action}: ${e.ok ? 'back, trying again' : 'failed'}`);
        return;
      }
      case 'progress': {
        const row = rows.get(e.host);
        if (row && !row.finished) setTitle(row, `${pad(e.host)}  ${e.step}: ${e.text}`);
        return;
      }
      case 'host-end': {
        const row = rows.get(e.host);
        if (!row || row.finished) return;
        const what = `${e.step}: ${describeHostEnd(e)}`;
        if (e.status === 'failed') {
          row.finished = true;
          setTitle(row, `${pad(e.host)}  ${e.step}`);
          row.finish({ kind: 'failed', message: what });
        } else if (e.status === 'aborted') {
          row.finished = true;
          row.finish({ kind: 'skip', message: `${pad(e.host)}  ${e.step}: aborted` });
        } else {
          row.steps++;
          setTitle(row, `${pad(e.host)}  ${what}`);
        }
        return;
      }
      case 'run-end':
        for (const row of rows.values()) {
          if (row.finished) continue;
          row.finished = true;
          if (row.steps === 0) row.finish({ kind: 'skip', message: `${pad(row.host)}  not run` });
          else {
            setTitle(row, `${pad(row.host)}  done (${row.steps} step${row.steps === 1 ? '' : 's'})`);
            row.finish({ kind: 'done' });
          }
        }
        if (opts.summary ?? true) summary = formatSummary(e, { color: opts.color ?? true });
        return;
      default:
        return;
    }
  };

  return {
    onEvent,
    async close() {
      if (running) await running;
      if (summary !== undefined) stream.write(`\n${summary}\n`);
    },
  };
}
