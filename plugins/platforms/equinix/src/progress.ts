/**
 * Progress of provision and teardown: one plain line per event on stderr (creating, state changes,
 * retries, waiting), so a terminal, CI logs and the Nx task output all show where a long wait
 * stands. Lines never hold the API token (nothing that reaches them ever held it).
 */

/** Receives one progress line. */
export type Report = (line: string) => void;

/** The default: `equinix: <line>` on stderr. */
export const reportToStderr: Report = (line) => {
  process.stderr.write(`equinix: ${line}\n`);
};

/** `1m05s`, `40s`, `800ms`: a short duration for progress lines. */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
