/**
 * Progress of a plan: runs done / total, the run each host set is on, and an ETA from the
 * durations so far. On a terminal a listr2 view (one line for the plan, one per host set); else
 * one plain line per event (CI logs).
 */
import type { Host } from '@labrig/core';
import type { RunSpec } from '../plan/expand.js';

export interface Progress {
  phase(text: string): void;
  runStart(slot: number, run: RunSpec, hosts: Host[]): void;
  runEnd(slot: number, run: RunSpec, status: 'done' | 'failed' | 'pending', ms: number): void;
  /** Time the runs left should take (undefined before the first run ends) and how many are left. */
  left(): { ms: number | undefined; runs: number };
  close(): void;
}

/** A run time or an ETA: `1.5 s`, `42 s`, `3 min`. */
export const fmtS = (ms: number) => (ms >= 90_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`);
export const describeRun = (r: RunSpec) => `${r.id} (${Object.entries(r.params).filter(([k]) => k !== 'duration_s').map(([k, v]) => `${k}=${v}`).join(' ')}, repeat ${r.repeat})`;

/** Counts and ETA (pure: tested). */
export class ProgressState {
  done: number;
  failed = 0;
  private readonly durations: number[] = [];
  constructor(
    readonly total: number,
    doneBefore: number,
    private readonly slots: number,
  ) {
    this.done = doneBefore;
  }
  record(status: 'done' | 'failed' | 'pending', ms: number): void {
    if (status === 'done') this.done++;
    if (status === 'failed') this.failed++;
    if (status !== 'pending') this.durations.push(ms);
  }
  /** Remaining runs x mean duration / host sets; undefined before the first run ends. */
  etaMs(): number | undefined {
    if (!this.durations.length) return undefined;
    const mean = this.durations.reduce((a, b) => a + b, 0) / this.durations.length;
    const left = Math.max(0, this.total - this.done - this.failed);
    return (left * mean) / this.slots;
  }
  runsLeft(): number {
    return Math.max(0, this.total - this.done - this.failed);
  }
  /** `runs 3/10 done, 1 failed, ETA 6.0 s` and a note (the machines' expiry) when there is one. */
  headline(note?: string): string {
    const eta = this.etaMs();
    return `runs ${this.done}/${this.total} done${this.failed ? `, ${this.failed} failed` : ''}${eta !== undefined ? `, ETA ${fmtS(eta)}` : ''}${note ? `; ${note}` : ''}`;
  }
}

export function createProgress(o: { mode: 'auto' | 'tty' | 'plain' | 'json'; total: number; doneBefore: number; log: (l: string) => void; slots?: number; note?: () => string | undefined }): Progress {
  const state = new ProgressState(o.total, o.doneBefore, o.slots ?? 1);
  const left = () => ({ ms: state.etaMs(), runs: state.runsLeft() });
  const headline = () => state.headline(o.note?.());
  const tty = o.mode === 'tty' || (o.mode === 'auto' && process.stdout.isTTY === true);
  if (o.mode === 'json') {
    const emit = (e: object) => {
      const note = o.note?.();
      o.log(JSON.stringify({ ...e, done: state.done, failed: state.failed, total: state.total, etaMs: state.etaMs() ?? null, ...(note ? { note } : {}) }));
    };
    return {
      phase: (text) => emit({ type: 'phase', text }),
      runStart: (slot, r, hosts) => emit({ type: 'run-start', slot, run: r.id, hosts: hosts.map((h) => h.name) }),
      runEnd: (slot, r, status, ms) => (state.record(status, ms), emit({ type: 'run-end', slot, run: r.id, status, ms })),
      left,
      close: () => undefined,
    };
  }
  if (!tty) {
    return {
      phase: (text) => o.log(`== ${text}`),
      runStart: (slot, r, hosts) => o.log(`[${state.done}/${state.total}] set ${slot + 1} (${hosts.map((h) => h.name).join(',')}): run ${describeRun(r)}`),
      runEnd: (_slot, r, status, ms) => {
        state.record(status, ms);
        o.log(`[${state.done}/${state.total}] ${r.id} ${status} in ${fmtS(ms)} — ${headline()}`);
      },
      left,
      close: () => undefined,
    };
  }
  // Terminal: a listr2 view whose titles follow the runs.
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((r) => (finish = r));
  const titles: { set: (t: string) => void }[] = [];
  let head: { set: (t: string) => void } | undefined;
  const ready = (async () => {
    const { Listr } = await import('listr2');
    const slots = Array.from({ length: o.slots ?? 1 }, (_, i) => i);
    const list = new Listr(
      [
        { title: headline(), task: async (_c: unknown, t: { title: string }) => ((head = { set: (s) => (t.title = s) }), finished) },
        ...slots.map((i) => ({ title: `set ${i + 1}: waiting`, task: async (_c: unknown, t: { title: string }) => ((titles[i] = { set: (s) => (t.title = s) }), finished) })),
      ],
      { concurrent: true, rendererOptions: { collapseSubtasks: false } },
    );
    return list.run();
  })();
  return {
    phase: (text) => head?.set(`${headline()} — ${text}`),
    runStart: (slot, r, hosts) => titles[slot]?.set(`set ${slot + 1} (${hosts.map((h) => h.name).join(',')}): ${describeRun(r)}`),
    runEnd: (slot, r, status, ms) => {
      state.record(status, ms);
      head?.set(headline());
      titles[slot]?.set(`set ${slot + 1}: last ${r.id} ${status} in ${fmtS(ms)}`);
    },
    left,
    close: () => {
      finish();
      void ready.catch(() => undefined);
    },
  };
}
