/**
 * A parser for OpenSSH client config files (~/.ssh/config): the subset labrig uses.
 * Host blocks (patterns with `*`, `?`, `!negation`, several per line), `Match all`, Include,
 * and the keywords HostName, User, Port, IdentityFile, ProxyJump. First obtained value wins
 * (IdentityFile accumulates), as in ssh_config(5).
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';

/** One keyword line with the Host/Match conditions that enclose it (all must match). */
export interface SshConfigEntry {
  keyword: string; // lowercased
  args: string[];
  /** Each element is one `Host` line's pattern list; `null` means a block that never matches. */
  conditions: Array<string[] | null>;
  file: string;
  line: number;
}

export interface SshConfig {
  file: string;
  entries: SshConfigEntry[];
}

/** What ssh config says about one host (raw: tokens in IdentityFile not yet expanded). */
export interface SshConfigMatch {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  /** ProxyJump value unless it is `none`. */
  proxyJump?: string;
  /** True when ProxyJump was explicitly `none`. */
  proxyJumpNone?: boolean;
}

export interface JumpSpec {
  user?: string;
  host: string;
  port?: number;
}

const KNOWN = new Set(['host', 'match', 'include', 'hostname', 'user', 'port', 'identityfile', 'proxyjump']);

/** Split a config line into words: `Key value`, `Key=value`, double quotes group words. */
export function splitConfigLine(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inQuote = false;
  let have = false;
  let i = 0;
  const s = line.trim();
  // The keyword may be separated from its value by `=` (with optional spaces).
  const m = /^([A-Za-z][A-Za-z0-9]*)\s*=\s*|^([A-Za-z][A-Za-z0-9]*)\s+/.exec(s);
  if (m) {
    words.push((m[1] ?? m[2]) as string);
    i = m[0].length;
  }
  for (; i < s.length; i++) {
    const c = s[i] as string;
    if (inQuote) {
      if (c === '"') inQuote = false;
      else cur += c;
    } else if (c === '"') {
      inQuote = true;
      have = true;
    } else if (c === ' ' || c === '\t') {
      if (have) words.push(cur);
      cur = '';
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (inQuote) throw new Error('unterminated quote');
  if (have) words.push(cur);
  return words;
}

export interface ParseOptions {
  /** File name for messages and relative Include paths. */
  file?: string;
  /** Directory relative Include paths are taken from. Default `~/.ssh`. */
  includeDir?: string;
  homeDir?: string;
  /** Reads an included file; default fs. */
  readFile?: (file: string) => string;
}

/** Parse config text into entries. Unknown keywords are kept (ignored by `matchSshConfig`). */
export function parseSshConfig(text: string, opts: ParseOptions = {}): SshConfig {
  const file = opts.file ?? '<ssh config>';
  const entries: SshConfigEntry[] = [];
  parseInto(text, file, [], entries, opts, 0);
  return { file, entries };
}

function parseInto(
  text: string,
  file: string,
  outer: Array<string[] | null>,
  entries: SshConfigEntry[],
  opts: ParseOptions,
  depth: number,
): void {
  if (depth > 16) throw new Error(`${file}: Include nested too deeply`);
  let block: string[] | null | undefined; // undefined: before any Host/Match line
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const raw = (lines[n] as string).trim();
    if (raw === '' || raw.startsWith('#')) continue;
    let words: string[];
    try {
      words = splitConfigLine(raw);
    } catch (e) {
      throw new Error(`${file}:${n + 1}: ${(e as Error).message}`);
    }
    const [kw0, ...args] = words;
    if (kw0 === undefined) continue;
    const keyword = kw0.toLowerCase();
    const conditions = block === undefined ? outer : [...outer, block];
    if (keyword === 'host') {
      block = args.length ? args : null;
      continue;
    }
    if (keyword === 'match') {
      // Only `Match all` is understood; any other criteria: the block is skipped.
      block = args.length === 1 && args[0]?.toLowerCase() === 'all' ? ['*'] : null;
      continue;
    }
    if (keyword === 'include') {
      for (const pattern of args) {
        for (const inc of expandInclude(pattern, opts)) {
          const body = (opts.readFile ?? ((f: string) => readFileSync(f, 'utf8')))(inc);
          parseInto(body, inc, conditions, entries, opts, depth + 1);
        }
      }
      continue;
    }
    if (!KNOWN.has(keyword)) continue;
    entries.push({ keyword, args, conditions, file, line: n + 1 });
  }
}

function expandInclude(pattern: string, opts: ParseOptions): string[] {
  const home = opts.homeDir ?? homedir();
  let p = pattern.startsWith('~/') ? path.join(home, pattern.slice(2)) : pattern;
  if (!path.isAbsolute(p)) p = path.join(opts.includeDir ?? path.join(home, '.ssh'), p);
  const base = path.basename(p);
  if (!/[*?]/.test(base)) return existsSync(p) ? [p] : [];
  const dir = path.dirname(p);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => matchGlob(base, f, false))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Glob with `*` and `?` over the whole string. */
export function matchGlob(pattern: string, text: string, caseInsensitive = true): boolean {
  const p = caseInsensitive ? pattern.toLowerCase() : pattern;
  const t = caseInsensitive ? text.toLowerCase() : text;
  // Iterative wildcard match with backtracking on the last `*`.
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = ti;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++mark;
    } else return false;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** A Host line matches when some positive pattern matches and no negated one does. */
export function matchHostPatterns(patterns: readonly string[], host: string): boolean {
  let positive = false;
  for (const raw of patterns) {
    for (const pat of raw.split(',')) {
      if (pat.startsWith('!')) {
        if (matchGlob(pat.slice(1), host)) return false;
      } else if (matchGlob(pat, host)) positive = true;
    }
  }
  return positive;
}

/** What the config says about `host` (the name as given, e.g. an alias). */
export function matchSshConfig(config: SshConfig, host: string): SshConfigMatch {
  const out: SshConfigMatch = { identityFiles: [] };
  for (const e of config.entries) {
    if (!e.conditions.every((c) => c !== null && matchHostPatterns(c, host))) continue;
    const v = e.args[0];
    if (v === undefined) continue;
    switch (e.keyword) {
      case 'hostname':
        out.hostName ??= v.replace(/%(.)/g, (_, c: string) => (c === 'h' ? host : c === '%' ? '%' : `%${c}`));
        break;
      case 'user':
        out.user ??= v;
        break;
      case 'port':
        if (out.port === undefined) {
          const port = Number(v);
          if (!Number.isInteger(port) || port < 1 || port > 65535) {
            throw new Error(`${e.file}:${e.line}: bad Port ${JSON.stringify(v)}`);
          }
          out.port = port;
        }
        break;
      case 'identityfile':
        if (!out.identityFiles.includes(v)) out.identityFiles.push(v);
        break;
      case 'proxyjump':
        if (out.proxyJump === undefined && !out.proxyJumpNone) {
          if (v.toLowerCase() === 'none') out.proxyJumpNone = true;
          else out.proxyJump = v;
        }
        break;
    }
  }
  return out;
}

/** Expand `~` and the `%d %u %h %r %%` tokens of an IdentityFile value. */
export function expandIdentityFile(
  file: string,
  ctx: { host: string; user: string; homeDir?: string; localUser?: string },
): string {
  const home = ctx.homeDir ?? homedir();
  const local = ctx.localUser ?? safeLocalUser();
  let f = file === '~' ? home : file.startsWith('~/') ? path.join(home, file.slice(2)) : file;
  f = f.replace(/%(.)/g, (all, c: string) => {
    switch (c) {
      case 'd':
        return home;
      case 'u':
        return local;
      case 'h':
        return ctx.host;
      case 'r':
        return ctx.user;
      case '%':
        return '%';
      default:
        return all;
    }
  });
  return f;
}

/** `[user@]host[:port]` items separated by commas (also `ssh://user@host:port`, `[v6]:port`). */
export function parseProxyJump(spec: string): JumpSpec[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((item) => {
      let s = item.startsWith('ssh://') ? item.slice(6) : item;
      let user: string | undefined;
      const at = s.lastIndexOf('@');
      if (at >= 0) {
        user = s.slice(0, at);
        s = s.slice(at + 1);
      }
      let host = s;
      let port: number | undefined;
      const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
      if (v6) {
        host = v6[1] as string;
        if (v6[2] !== undefined) port = Number(v6[2]);
      } else {
        const c = s.lastIndexOf(':');
        if (c >= 0 && s.indexOf(':') === c) {
          host = s.slice(0, c);
          port = Number(s.slice(c + 1));
        }
      }
      if (host === '' || (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535))) {
        throw new Error(`bad ProxyJump item ${JSON.stringify(item)}`);
      }
      const j: JumpSpec = { host };
      if (user !== undefined) j.user = user;
      if (port !== undefined) j.port = port;
      return j;
    });
}

/** Read and parse a config file; a missing file is an empty config. */
export function loadSshConfig(file: string, opts: Omit<ParseOptions, 'file'> = {}): SshConfig {
  if (!existsSync(file)) return { file, entries: [] };
  return parseSshConfig(readFileSync(file, 'utf8'), { includeDir: path.dirname(file), ...opts, file });
}

function safeLocalUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? '';
  }
}
