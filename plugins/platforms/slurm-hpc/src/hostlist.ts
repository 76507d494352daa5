/**
 * Slurm host lists (`node[01-03,7],gpu1`, `rack[1-2]-n[1-2]`) expanded to node names, the way
 * `scontrol show hostnames` does: here, so reading a job's nodes costs no extra command.
 */

/** Split at commas that are not inside brackets. */
function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(list.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(list.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** `01-03,7` → ['01', '02', '03', '7']: zero padding follows the lower bound, as in Slurm. */
function expandRanges(body: string, whole: string): string[] {
  const out: string[] = [];
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new SyntaxError(`host list ${JSON.stringify(whole)}: "${part}" is not a number or a range`);
    const lo = m[1] ?? '';
    const hi = m[2] ?? lo;
    const width = lo.startsWith('0') ? lo.length : 0;
    for (let n = Number(lo); n <= Number(hi); n++) out.push(String(n).padStart(width, '0'));
  }
  return out;
}

/** One host-list item without top-level commas: its bracket groups multiplied out, left to right. */
function expandItem(item: string, whole: string): string[] {
  const open = item.indexOf('[');
  if (open < 0) return [item];
  const close = item.indexOf(']', open);
  if (close < 0) throw new SyntaxError(`host list ${JSON.stringify(whole)}: unclosed "["`);
  const prefix = item.slice(0, open);
  const rest = expandItem(item.slice(close + 1), whole);
  return expandRanges(item.slice(open + 1, close), whole).flatMap((v) => rest.map((r) => `${prefix}${v}${r}`));
}

/** Node names of a Slurm host list; '' and `(null)` (a pending job's) give none. */
export function expandHostlist(list: string): string[] {
  const s = list.trim();
  if (s === '' || s === '(null)' || s === 'None assigned') return [];
  return splitTopLevel(s).flatMap((item) => expandItem(item, s));
}
