/**
 * After teardown, the host keys labrig accepted for the released addresses are removed from its
 * known_hosts: bare-metal clouds hand the same public addresses to the next devices, whose new
 * keys would otherwise be refused as a mismatch. Only lines naming exactly those addresses go.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostFieldMatches, hostKeyName } from '@labrig/ssh';

/** Remove the lines of `file` for the given address:port pairs; returns how many went. */
export function forgetHostKeys(file: string, targets: readonly { address: string; port: number }[]): number {
  if (targets.length === 0 || !existsSync(file)) return 0;
  const names = targets.map((t) => hostKeyName(t.address, t.port));
  const lines = readFileSync(file, 'utf8').split('\n');
  const kept = lines.filter((line) => {
    const fields = line.trim().split(/\s+/);
    const hostsField = fields[0]?.startsWith('@') ? fields[1] : fields[0];
    if (!hostsField || line.trim().startsWith('#')) return true;
    // Literal names and hashed names only: a pattern line (`*`, `?`, `!`) is the user's, never ours.
    return !hostsField.split(',').every((h) => names.some((n) => (h.startsWith('|1|') ? hostFieldMatches(h, n) : h === n)));
  });
  const removed = lines.length - kept.length;
  if (removed > 0) {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, kept.join('\n'), { mode: 0o644 });
    renameSync(tmp, file);
  }
  return removed;
}
