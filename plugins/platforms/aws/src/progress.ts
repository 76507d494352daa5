/**
 * Progress lines of provision and teardown (what was launched, how many are running, what is
 * waited for). The Platform contract gives them no renderer, so they go to stderr, one line each
 * (stdout keeps the inventory the provision target prints); tests pass their own sink.
 */
export type Progress = (line: string) => void;

/** Lines to stderr, prefixed with the platform folder. */
export function stderrProgress(folder: string): Progress {
  return (line) => {
    process.stderr.write(`${folder}: ${line}\n`);
  };
}

/** `3 s`, `2 min 5 s`: elapsed time for progress lines. */
export function formatElapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}
