/**
 * What labrig writes into a job's comment (sbatch --comment) so the job describes itself: any
 * process, even one with no local state (another machine, a lost workspace), can tell what runs
 * (the ProcessSpec stamp) and how many tasks it has from one squeue line.
 *
 *     labrig ntasks=4 stamp=<stamp>        a printable one-line stamp, as is
 *     labrig ntasks=4 stamp64=<base64url>  any other stamp
 *     labrig ntasks=4                      no stamp
 */

const MARK = 'labrig';
const PRINTABLE = /^[\x20-\x7e]*$/;

export interface JobComment {
  ntasks: number;
  stamp?: string;
}

/** The comment for a job; the stamp is kept exactly (base64url when it is not one printable line). */
export function encodeComment(c: JobComment): string {
  const head = `${MARK} ntasks=${c.ntasks}`;
  if (c.stamp === undefined || c.stamp === '') return head;
  return PRINTABLE.test(c.stamp) ? `${head} stamp=${c.stamp}` : `${head} stamp64=${Buffer.from(c.stamp, 'utf8').toString('base64url')}`;
}

/** The comment read back; undefined when it is not one labrig wrote (another tool's job, a site's comment). */
export function decodeComment(text: string): JobComment | undefined {
  const m = /^labrig ntasks=(\d+)(?: (stamp|stamp64)=(.*))?$/s.exec(text);
  if (!m) return undefined;
  const ntasks = Number(m[1]);
  if (m[2] === undefined) return { ntasks };
  const stamp = m[2] === 'stamp64' ? Buffer.from(m[3] ?? '', 'base64url').toString('utf8') : (m[3] ?? '');
  return { ntasks, stamp };
}
