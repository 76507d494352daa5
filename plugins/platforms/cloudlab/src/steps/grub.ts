/**
 * Kernel parameters in /etc/default/grub's GRUB_CMDLINE_LINUX_DEFAULT and in /proc/cmdline.
 * Pure text functions: the kernel step reads the files on the host and writes back what these return.
 */

export const GRUB_KEY = 'GRUB_CMDLINE_LINUX_DEFAULT';

/** `isolcpus=2-7` -> `isolcpus`; `nosmt` -> `nosmt`. */
export function paramKey(param: string): string {
  const i = param.indexOf('=');
  return i < 0 ? param : param.slice(0, i);
}

/** The assignments of GRUB_CMDLINE_LINUX_DEFAULT: line index and its value (quotes removed). */
function findAssignments(lines: string[]): { index: number; value: string }[] {
  const found: { index: number; value: string }[] = [];
  for (const [index, line] of lines.entries()) {
    const m = new RegExp(`^\\s*(?:export\\s+)?${GRUB_KEY}=(.*)$`).exec(line);
    if (!m) continue;
    const rhs = m[1]!.trim();
    const quoted = /^"([^"]*)"|^'([^']*)'/.exec(rhs);
    const value = quoted ? (quoted[1] ?? quoted[2] ?? '') : (rhs.split(/\s+#|\s/)[0] ?? '');
    found.push({ index, value });
  }
  return found;
}

/** Tokens with `params` set: a key=value replaces that key's first token (later duplicates go); a new key is appended. */
export function withParams(tokens: readonly string[], params: readonly string[]): string[] {
  let out = [...tokens];
  for (const p of params) {
    const key = paramKey(p);
    const first = out.findIndex((t) => paramKey(t) === key);
    if (first < 0) {
      out.push(p);
      continue;
    }
    out = out.filter((t, i) => i === first || paramKey(t) !== key);
    out[first] = p;
  }
  return out;
}

export interface GrubEdit {
  text: string;
  changed: boolean;
  /** The parameter tokens before and after. */
  before: string[];
  after: string[];
}

/**
 * /etc/default/grub with `params` in GRUB_CMDLINE_LINUX_DEFAULT (its last assignment is the one
 * that counts, as when the shell sources it); the line is added when the file has none.
 */
export function setGrubParams(text: string, params: readonly string[]): GrubEdit {
  const lines = text.split('\n');
  const last = findAssignments(lines).at(-1);
  const before = last ? last.value.split(/\s+/).filter(Boolean) : [];
  const after = withParams(before, params);
  const changed = before.join(' ') !== after.join(' ') || last === undefined;
  if (!changed) return { text, changed, before, after };
  const line = `${GRUB_KEY}="${after.join(' ')}"`;
  if (last) {
    lines[last.index] = line;
    return { text: lines.join('\n'), changed, before, after };
  }
  const body = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  return { text: `${body}${line}\n`, changed, before, after };
}

/** Parameters of `params` the running kernel was not booted with (for a key, the last token counts). */
export function missingParams(cmdline: string, params: readonly string[]): string[] {
  const tokens = cmdline.trim().split(/\s+/).filter(Boolean);
  return params.filter((p) => {
    const key = paramKey(p);
    const lastOfKey = tokens.filter((t) => paramKey(t) === key).at(-1);
    return lastOfKey !== p;
  });
}
