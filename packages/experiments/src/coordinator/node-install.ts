/**
 * Node on a coordinator host: found, or installed. One probe (one shell call) lists the host's
 * architecture, its download and unpack tools and its candidate nodes (`~/.labrig/node/bin/node`
 * first, then the `node` on its PATH; or only the path the plan names in `coordinator.node`) with
 * what each prints for `-v`. The first new enough is used. Otherwise Node's official Linux build
 * of a pinned version is installed under `~/.labrig/node`: this process reads SHASUMS256.txt from
 * the dist site, the host downloads the tarball (curl or wget; without either, this process
 * downloads it and copies it over), checks its sha256, unpacks it into a fresh folder under
 * `~/.labrig/` and checks the node there runs, then points `~/.labrig/node` at it by renaming a
 * symlink over it (atomic: a concurrent reader sees the old install or the new one, never half of
 * one). A failed attempt leaves nothing behind. Every failure is a NodeUnavailable naming the
 * host, what it has, why, and the setting that fixes it.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import type { ExecResult, Remote } from '@labrig/core';
import { LabrigError, quoteArg } from '@labrig/core';

export const DEFAULT_NODE_DIST = 'https://nodejs.org/dist';
/** Pinned: installed when the host has no Node new enough. */
export const DEFAULT_NODE_VERSION = 'v20.19.5';
export const DEFAULT_MIN_NODE_MAJOR = 20;

/** Where labrig installs Node on a host, relative to the login home. */
export const NODE_HOME = '.labrig/node';

const FETCH_TIMEOUT_MS = 30_000;
/** The tarball, when this process downloads it (the host's curl gets the same). */
const DOWNLOAD_TIMEOUT_MS = 600_000;
const VERSION_RE = /^v(\d+)\.(\d+)\.(\d+)$/;

export interface NodeOnHost {
  /** Absolute path on the host. */
  path: string;
  /** What it prints for `-v`, e.g. `v20.19.5`. */
  version: string;
  /** Whether ensureNode installed it now. */
  installed: boolean;
}

export interface EnsureNodeOptions {
  /** A node path given by the user (plan field `coordinator.node`): only it is tried; never installs. */
  node?: string;
  /** Base URL of Node's official builds; '' = never install. Default DEFAULT_NODE_DIST. */
  dist?: string;
  /** Version to install, e.g. 'v20.19.5'. */
  version?: string;
  /** Lowest acceptable major version. Default 20. */
  minMajor?: number;
  /** Where the error message says the settings live, e.g. 'configs/experiments/x.toml'. */
  file?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface InstallNodeOptions {
  /** Base URL of Node's official builds (or a mirror with the same layout). */
  dist: string;
  /** e.g. 'v20.19.5'. */
  version: string;
  /** The installed node must print a version of at least this major. Default 20. */
  minMajor?: number;
  /** For the error's hint. */
  file?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** The host cannot get a Node new enough (none there, and installing one is off or failed). */
export class NodeUnavailable extends LabrigError {
  readonly code = 'NODE_UNAVAILABLE';
  readonly host: string;
  /** The nodes the host has, e.g. `v18.19.0 at /usr/bin/node` (undefined: none). */
  readonly found: string | undefined;
  /** Why none could be used or installed. */
  readonly reason: string;
  constructor(host: string, o: { found: string | undefined; reason: string; hint: string; minMajor: number; cause?: unknown; retryable?: boolean; what?: string }) {
    const what = o.what ?? `no Node >= ${o.minMajor} (${o.found === undefined ? 'no node on PATH' : `found ${o.found}`})`;
    super(`${host}: ${what}; ${o.reason}`, {
      hint: o.hint,
      ...(o.cause === undefined ? {} : { cause: o.cause }),
      ...(o.retryable === undefined ? {} : { retryable: o.retryable }),
    });
    this.host = host;
    this.found = o.found;
    this.reason = o.reason;
  }
}

/** `uname -m` -> the architecture in Node's build names; undefined when Node has no Linux build for it. */
export function nodeArch(machine: string): string | undefined {
  switch (machine.trim()) {
    case 'x86_64':
    case 'amd64':
      return 'x64';
    case 'aarch64':
    case 'arm64':
      return 'arm64';
    case 'ppc64le':
      return 'ppc64le';
    case 's390x':
      return 's390x';
    default:
      return undefined;
  }
}

/** The sha256 SHASUMS256.txt lists for `file` (lines `<hex>  <file>`), or undefined. */
export function parseShasums(text: string, file: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$/.exec(line);
    if (m && m[2] === file) return (m[1] as string).toLowerCase();
  }
  return undefined;
}

/** The major of a `vX.Y.Z` version, or undefined. */
function majorOf(version: string): number | undefined {
  const m = /^v(\d+)\.\d+\.\d+/.exec(version);
  return m ? Number(m[1]) : undefined;
}

// ---------------------------------------------------------------------------------------------
// The probe

interface Candidate {
  path: string;
  exists: boolean;
  /** First line of `<path> -v` (stdout and stderr). */
  output: string;
  version?: string;
}

interface Probe {
  os: string;
  machine: string;
  home: string;
  tools: Set<string>;
  candidates: Candidate[];
}

const TOOLS = ['curl', 'wget', 'sha256sum', 'tar', 'xz', 'mktemp'] as const;

/**
 * Prints one `key<TAB>value` line per fact and one `cand<TAB>path<TAB>exists|missing<TAB>output`
 * line per candidate. `userNode`: only that path (relative to $HOME unless absolute).
 */
function probeScript(userNode: string | undefined): string {
  const lines = [
    'T=; if command -v timeout >/dev/null 2>&1; then T="timeout 20"; fi',
    'tab=$(printf "\\t")',
    'cand() {',
    '  case $1 in /*) p=$1 ;; *) p="$PWD/$1" ;; esac',
    '  if [ -e "$p" ]; then',
    '    v=$($T "$p" -v 2>&1 < /dev/null | head -n 1 | tr -d "\\t\\r")',
    '    printf "cand\\t%s\\texists\\t%s\\n" "$p" "$v"',
    '  else',
    '    printf "cand\\t%s\\tmissing\\t\\n" "$p"',
    '  fi',
    '}',
    'printf "os\\t%s\\n" "$(uname -s 2>/dev/null)"',
    'printf "machine\\t%s\\n" "$(uname -m 2>/dev/null)"',
    'printf "home\\t%s\\n" "$HOME"',
    `for t in ${TOOLS.join(' ')}; do if command -v "$t" > /dev/null 2>&1; then printf "tool\\t%s\\n" "$t"; fi; done`,
  ];
  if (userNode !== undefined) {
    const p = userNode.startsWith('~/') ? userNode.slice(2) : userNode;
    lines.push(p.startsWith('/') ? `cand ${quoteArg(p)}` : `cand "$HOME"/${quoteArg(p)}`);
  } else {
    lines.push(`cand "$HOME"/${quoteArg(`${NODE_HOME}/bin/node`)}`);
    lines.push('if p=$(command -v node 2>/dev/null) && [ -n "$p" ]; then cand "$p"; fi');
  }
  // The script runs from the login folder; `cd` makes sure of it (relative PATH entries, `cand`).
  return `cd || exit 9\n${lines.join('\n')}\n`;
}

function parseProbe(stdout: string): Probe {
  const p: Probe = { os: '', machine: '', home: '', tools: new Set(), candidates: [] };
  for (const line of stdout.split('\n')) {
    const f = line.split('\t');
    switch (f[0]) {
      case 'os':
        p.os = f[1] ?? '';
        break;
      case 'machine':
        p.machine = f[1] ?? '';
        break;
      case 'home':
        p.home = f[1] ?? '';
        break;
      case 'tool':
        if (f[1]) p.tools.add(f[1]);
        break;
      case 'cand': {
        const path = f[1] ?? '';
        if (!path || p.candidates.some((c) => c.path === path)) break;
        const output = f.slice(3).join(' ').trim();
        const version = /^v\d+\.\d+\.\d+/.exec(output)?.[0];
        p.candidates.push({ path, exists: f[2] === 'exists', output, ...(version ? { version } : {}) });
        break;
      }
      default:
        break;
    }
  }
  return p;
}

/** What the host has, for messages: `v18.19.0 at /usr/bin/node`, ...; undefined when nothing. */
function describeFound(p: Probe): string | undefined {
  const parts = p.candidates
    .filter((c) => c.exists)
    .map((c) => (c.version ? `${c.version} at ${c.path}` : `${c.path}, which does not run (${c.output ? `-v printed ${JSON.stringify(c.output.slice(0, 120))}` : 'no output for -v'})`));
  return parts.length ? parts.join(', ') : undefined;
}

// ---------------------------------------------------------------------------------------------
// Messages

interface Ctx {
  host: string;
  minMajor: number;
  file: string | undefined;
  signal: AbortSignal | undefined;
  log: (line: string) => void;
}

function planFile(c: Ctx): string {
  return c.file ?? 'the plan file';
}

function installHint(c: Ctx, o: { dist?: string; extra?: string } = {}): string {
  const mirror = o.dist === undefined || o.dist === '' || o.dist === DEFAULT_NODE_DIST ? `a mirror of ${DEFAULT_NODE_DIST}` : `another mirror of ${DEFAULT_NODE_DIST}`;
  return (
    `${o.extra ? `${o.extra} ` : ''}Install Node >= ${c.minMajor} on ${c.host} (on the login user's PATH), ` +
    `or set coordinator.node = "<path to a node >= ${c.minMajor} on ${c.host}>" in ${planFile(c)}, ` +
    `or coordinator.nodeDist = "<${mirror}>" there so labrig can install one.`
  );
}

function fail(c: Ctx, p: Probe | undefined, reason: string, o: { hint?: string; cause?: unknown; retryable?: boolean } = {}): NodeUnavailable {
  return new NodeUnavailable(c.host, {
    found: p ? describeFound(p) : undefined,
    reason,
    hint: o.hint ?? installHint(c),
    minMajor: c.minMajor,
    ...(o.cause === undefined ? {} : { cause: o.cause }),
    ...(o.retryable === undefined ? {} : { retryable: o.retryable }),
  });
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    if (e.name === 'TimeoutError') return 'no answer in time';
    const cause = (e as { cause?: unknown }).cause;
    if (cause instanceof Error && cause.message) return cause.message;
    return e.message;
  }
  return String(e);
}

/** Aborts (the caller's signal) pass through as they are; nothing else does. */
function rethrowAbort(c: Ctx, e: unknown): void {
  if (c.signal?.aborted) throw c.signal.reason ?? e;
}

async function hostShell(remote: Remote, c: Ctx, p: Probe | undefined, script: string, what: string): Promise<ExecResult> {
  try {
    return await remote.shell(script, { allowFailure: true, ...(c.signal ? { signal: c.signal } : {}) });
  } catch (e) {
    rethrowAbort(c, e);
    throw fail(c, p, `${what} failed: ${errorText(e)}`, { cause: e, retryable: e instanceof LabrigError ? e.retryable : false });
  }
}

function tail(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

async function probeHost(remote: Remote, c: Ctx, userNode: string | undefined): Promise<Probe> {
  const r = await hostShell(remote, c, undefined, probeScript(userNode), 'looking for node on the host');
  const p = parseProbe(r.stdout);
  if (r.exitCode !== 0 || !p.home.startsWith('/')) {
    throw fail(c, undefined, `looking for node on the host failed (exit ${r.exitCode ?? r.signal}${r.stderr.trim() ? `: ${tail(r.stderr)}` : ''})`);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// ensureNode

function ctxOf(remote: Remote, o: Pick<EnsureNodeOptions, 'minMajor' | 'file' | 'signal' | 'log'>): Ctx {
  return { host: remote.host.name, minMajor: o.minMajor ?? DEFAULT_MIN_NODE_MAJOR, file: o.file, signal: o.signal, log: o.log ?? (() => undefined) };
}

/**
 * A Node >= minMajor on the host: the one `o.node` names, else labrig's own install under
 * `~/.labrig/node`, else the host's `node` on PATH, else (unless `dist` is '') a fresh install of
 * `version` from `dist`.
 */
export async function ensureNode(remote: Remote, o: EnsureNodeOptions = {}): Promise<NodeOnHost> {
  const c = ctxOf(remote, o);
  const dist = o.dist ?? DEFAULT_NODE_DIST;
  const version = o.version ?? DEFAULT_NODE_VERSION;
  const p = await probeHost(remote, c, o.node);
  const good = p.candidates.find((cand) => cand.version !== undefined && (majorOf(cand.version) ?? 0) >= c.minMajor);
  if (good?.version) {
    c.log(`${c.host}: using Node ${good.version} at ${good.path}`);
    return { path: good.path, version: good.version, installed: false };
  }
  const found = describeFound(p);
  if (o.node !== undefined) {
    const cand = p.candidates[0];
    const path = cand?.path ?? o.node;
    const what = !cand?.exists
      ? `coordinator.node = ${path}, which does not exist`
      : cand.version
        ? `coordinator.node = ${path}, which is ${cand.version}`
        : `coordinator.node = ${found}`;
    throw new NodeUnavailable(c.host, {
      found,
      minMajor: c.minMajor,
      what,
      reason: `Node >= ${c.minMajor} is needed, and labrig never replaces a node the plan names`,
      hint: `Point coordinator.node in ${planFile(c)} at a Node >= ${c.minMajor} on ${c.host}, or remove it so labrig uses the host's node or installs ${version} under ~/${NODE_HOME}.`,
    });
  }
  if (dist === '') {
    throw fail(c, p, 'installing Node is off (coordinator.nodeDist = "")', {
      hint: `Install Node >= ${c.minMajor} on ${c.host} (on the login user's PATH), or set coordinator.node = "<path to a node >= ${c.minMajor} on ${c.host}>" in ${planFile(c)}, or remove coordinator.nodeDist = "" there so labrig installs ${version} from ${DEFAULT_NODE_DIST} (or set it to a mirror).`,
    });
  }
  return install(remote, p, c, { dist, version, why: `no Node >= ${c.minMajor} (${found === undefined ? 'no node on PATH' : `found ${found}`})` });
}

/**
 * Install `version` from `dist` under `~/.labrig/node` on the host, whatever node it has already
 * (replacing an earlier install there). What ensureNode does when the host has no Node new enough.
 */
export async function installNode(remote: Remote, o: InstallNodeOptions): Promise<NodeOnHost> {
  const c = ctxOf(remote, o);
  const p = await probeHost(remote, c, undefined);
  return install(remote, p, c, { dist: o.dist, version: o.version, why: 'install requested' });
}

// ---------------------------------------------------------------------------------------------
// Installing

/** Creates the install folder under ~/.labrig (sets $base, $tmp; exit 10 when it cannot). */
function prepareScript(prefix: string): string {
  return [
    'base="$HOME/.labrig"',
    `tmp=$(mkdir -p "$base" && mktemp -d "$base"/${quoteArg(`${prefix}.XXXXXX`)}) || { echo "cannot create a folder under $base" >&2; exit 10; }`,
  ].join('\n');
}

/** Removes $tmp on any exit until `trap - EXIT` (a failed attempt leaves nothing behind). */
const CLEANUP_TRAP = ["trap 'rm -rf \"$tmp\"' EXIT", "trap 'exit 130' INT TERM HUP"].join('\n');

/** Downloads $url to "$tmp/$file" (exit 21 with the tool's message on failure). */
function downloadScript(url: string, file: string, tool: 'curl' | 'wget'): string {
  const cmd =
    tool === 'curl'
      ? `curl -fsSL --max-time 600 -o "$tmp"/${quoteArg(file)} ${quoteArg(url)}`
      : `wget -q -T 600 -O "$tmp"/${quoteArg(file)} ${quoteArg(url)}`;
  return `${cmd} 2> "$tmp/.download-err" || { echo "${tool}: exit $?: $(tail -n 3 "$tmp/.download-err")" >&2; exit 21; }\nrm -f "$tmp/.download-err"`;
}

/**
 * Verifies, unpacks, runs, and switches ~/.labrig/node to the new tree. Expects $base, $tmp and
 * the tarball at "$tmp/$file". Prints `version<TAB>v..` and `path<TAB>...` when done.
 */
function finishScript(file: string, sha256: string, treeName: string, minMajor: number): string {
  return [
    `file=${quoteArg(file)}`,
    `want=${quoteArg(sha256)}`,
    `tree=${quoteArg(treeName)}`,
    `min=${quoteArg(String(minMajor))}`,
    'got=$(sha256sum "$tmp/$file" | cut -c1-64) || { echo "sha256sum failed" >&2; exit 30; }',
    'if [ "$got" != "$want" ]; then rm -f "$tmp/$file"; echo "$got" >&2; exit 31; fi',
    'tar -xJf "$tmp/$file" -C "$tmp" 2> "$tmp/.tar-err" || { echo "tar: $(tail -n 3 "$tmp/.tar-err")" >&2; exit 40; }',
    'rm -f "$tmp/$file" "$tmp/.tar-err"',
    'new="$tmp/$tree"',
    '[ -f "$new/bin/node" ] && [ -x "$new/bin/node" ] || { echo "$tree/bin/node is not in $file" >&2; exit 41; }',
    'v=$("$new/bin/node" -v 2>&1 < /dev/null | head -n 1)',
    'case $v in v[0-9]*.*) ;; *) echo "$v" >&2; exit 42 ;; esac',
    'major=${v#v}; major=${major%%.*}',
    '[ "$major" -ge "$min" ] 2> /dev/null || { echo "$v" >&2; exit 43; }',
    // Switch: a relative symlink renamed over ~/.labrig/node (rename(2): atomic). A real folder
    // there (installed by hand) is moved aside first and removed after.
    'link="$base/.node-link.$$"',
    'rm -f "$link"',
    'ln -s "${tmp#"$base"/}/$tree" "$link" || { echo "cannot create $link" >&2; exit 50; }',
    'aside=',
    'if [ -e "$base/node" ] && [ ! -L "$base/node" ]; then aside="$base/.node-old.$$"; rm -rf "$aside"; mv "$base/node" "$aside" || { rm -f "$link"; echo "cannot move $base/node aside" >&2; exit 50; }; fi',
    'old=$(readlink "$base/node" 2> /dev/null || true)',
    'mv -T "$link" "$base/node" 2> /dev/null || { rm -f "$base/node" && mv "$link" "$base/node"; } || { rm -f "$link"; echo "cannot replace $base/node" >&2; exit 50; }',
    'trap - EXIT',
    'if [ -n "$aside" ]; then rm -rf "$aside"; fi',
    // The install it replaced, when it was one of labrig's (a relative link to node-v*.XXXXXX/...).
    'case $old in node-v*/*) o=${old%%/*}; if [ -d "$base/$o" ] && [ "$base/$o" != "$tmp" ]; then rm -rf "$base/$o"; fi ;; esac',
    'printf "version\\t%s\\npath\\t%s\\n" "$v" "$base/node/bin/node"',
  ].join('\n');
}

function finishFailure(c: Ctx, p: Probe, r: ExecResult, a: { url: string; file: string; sha256: string; treeName: string; version: string }): NodeUnavailable {
  const err = tail(r.stderr);
  switch (r.exitCode) {
    case 10:
      return fail(c, p, `installing ${a.version} failed: ${err}`);
    case 21:
      return fail(c, p, `installing ${a.version} failed: the host could not download ${a.url} (${err})`, { retryable: true });
    case 30:
      return fail(c, p, `installing ${a.version} failed: sha256sum of the download failed (${err})`);
    case 31:
      return fail(c, p, `installing ${a.version} failed: checksum mismatch: expected ${a.sha256}, got ${err.split('\n').pop()} for ${a.url}`, {
        hint: installHint(c, { extra: 'The download (now deleted) was corrupted, or the mirror serves another file than its SHASUMS256.txt lists.' }),
        retryable: true,
      });
    case 40:
      return fail(c, p, `installing ${a.version} failed: extraction failed: ${err}`);
    case 41:
      return fail(c, p, `installing ${a.version} failed: ${err}`);
    case 42:
      return fail(c, p, `installing ${a.version} failed: the node in ${a.file} does not run on the host (-v printed ${JSON.stringify(err)})`, {
        hint: installHint(c, { extra: `Node's builds need glibc >= 2.28; an older or musl-based host needs its own Node.` }),
      });
    case 43:
      return fail(c, p, `installing ${a.version} failed: the node in ${a.file} prints ${err}, older than ${c.minMajor}`, {
        hint: installHint(c, { extra: `Set a version of at least ${c.minMajor} to install.` }),
      });
    case 50:
      return fail(c, p, `installing ${a.version} failed: ${err}`);
    default:
      return fail(c, p, `installing ${a.version} failed: the install script ended with ${r.exitCode ?? r.signal}${err ? `: ${err}` : ''}`);
  }
}

async function fetchLocal(c: Ctx, p: Probe, url: string, timeoutMs: number, why: string): Promise<Response> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = c.signal ? AbortSignal.any([c.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (e) {
    rethrowAbort(c, e);
    const text = timeout.aborted ? `no answer within ${Math.round(timeoutMs / 1000)} s` : errorText(e);
    throw fail(c, p, `${why}: cannot reach ${url}: ${text}`, { cause: e, retryable: true });
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw fail(c, p, `${why}: ${url} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, { retryable: res.status >= 500 });
  }
  return res;
}

async function install(remote: Remote, p: Probe, c: Ctx, a: { dist: string; version: string; why: string }): Promise<NodeOnHost> {
  const { version } = a;
  const dist = a.dist.replace(/\/+$/, '');
  const installing = `installing ${version}`;
  if (!VERSION_RE.test(version)) throw fail(c, p, `${installing}: not a Node version (expected vX.Y.Z)`);
  if ((majorOf(version) ?? 0) < c.minMajor) throw fail(c, p, `the version to install, ${version}, is older than ${c.minMajor}`);
  if (p.os !== 'Linux') throw fail(c, p, `labrig installs only Node's Linux builds, and the host runs ${p.os || 'an unknown system'}`);
  const arch = nodeArch(p.machine);
  if (!arch) throw fail(c, p, `Node has no official Linux build for the host's architecture ${JSON.stringify(p.machine)} (uname -m)`);
  const missing = ['sha256sum', 'tar', 'xz', 'mktemp'].filter((t) => !p.tools.has(t));
  if (missing.length) {
    throw fail(c, p, `${installing} needs ${missing.join(', ')} on the host, which it lacks`, {
      hint: installHint(c, { extra: `Install ${missing.join(' and ')} on ${c.host}, or:` }),
    });
  }
  const treeName = `node-${version}-linux-${arch}`;
  const file = `${treeName}.tar.xz`;
  const sumsUrl = `${dist}/${version}/SHASUMS256.txt`;
  const url = `${dist}/${version}/${file}`;
  c.log(`${c.host}: ${a.why}; installing ${version} (linux-${arch}) from ${dist}`);

  const sumsRes = await fetchLocal(c, p, sumsUrl, FETCH_TIMEOUT_MS, `${installing} failed`);
  let sums: string;
  try {
    sums = await sumsRes.text();
  } catch (e) {
    rethrowAbort(c, e);
    throw fail(c, p, `${installing} failed: reading ${sumsUrl}: ${errorText(e)}`, { cause: e, retryable: true });
  }
  const sha256 = parseShasums(sums, file);
  if (!sha256) throw fail(c, p, `${installing} failed: ${sumsUrl} has no line for ${file}`);

  const tool = p.tools.has('curl') ? 'curl' : p.tools.has('wget') ? 'wget' : undefined;
  const args = { url, file, sha256, treeName, version };
  let r: ExecResult;
  if (tool) {
    c.log(`${c.host}: downloading ${file} on the host (${tool})`);
    const script = [prepareScript(treeName), CLEANUP_TRAP, downloadScript(url, file, tool), finishScript(file, sha256, treeName, c.minMajor)].join('\n');
    r = await hostShell(remote, c, p, script, installing);
  } else {
    c.log(`${c.host}: no curl or wget on the host: downloading ${file} here and copying it over`);
    r = await uploadAndFinish(remote, p, c, args);
  }
  if (r.exitCode !== 0) throw finishFailure(c, p, r, args);
  const out = parseProbeLike(r.stdout);
  const installedVersion = out.get('version') ?? '';
  const path = out.get('path') ?? `${p.home}/${NODE_HOME}/bin/node`;
  c.log(`${c.host}: installed Node ${installedVersion} at ${path}`);
  return { path, version: installedVersion, installed: true };
}

function parseProbeLike(stdout: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('\t');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

/** No curl or wget on the host: download here (checked against the sha256), copy over, finish there. */
async function uploadAndFinish(
  remote: Remote,
  p: Probe,
  c: Ctx,
  a: { url: string; file: string; sha256: string; treeName: string; version: string },
): Promise<ExecResult> {
  const installing = `installing ${a.version}`;
  const local = await mkdtemp(join(tmpdir(), 'labrig-node-'));
  try {
    const localFile = join(local, a.file);
    const res = await fetchLocal(c, p, a.url, DOWNLOAD_TIMEOUT_MS, `${installing} failed`);
    const hash = createHash('sha256');
    try {
      if (!res.body) throw new Error('empty response');
      await pipeline(
        Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>),
        async function* (src: AsyncIterable<Buffer>) {
          for await (const chunk of src) {
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(localFile),
      );
    } catch (e) {
      rethrowAbort(c, e);
      throw fail(c, p, `${installing} failed: downloading ${a.url}: ${errorText(e)}`, { cause: e, retryable: true });
    }
    const got = hash.digest('hex');
    if (got !== a.sha256) {
      throw fail(c, p, `${installing} failed: checksum mismatch: expected ${a.sha256}, got ${got} for ${a.url}`, {
        hint: installHint(c, { extra: 'The download (now deleted) was corrupted, or the mirror serves another file than its SHASUMS256.txt lists.' }),
        retryable: true,
      });
    }
    const prep = await hostShell(remote, c, p, `${prepareScript(a.treeName)}\nprintf "tmp\\t%s\\n" "$tmp"`, installing);
    const tmp = parseProbeLike(prep.stdout).get('tmp');
    if (prep.exitCode !== 0 || !tmp?.startsWith('/')) return prep.exitCode !== 0 ? prep : { ...prep, exitCode: 10, stderr: 'no install folder' };
    try {
      await remote.putFile(localFile, `${tmp}/${a.file}`, c.signal ? { signal: c.signal } : {});
    } catch (e) {
      await remote.shell(`rm -rf ${quoteArg(tmp)}`, { allowFailure: true }).catch(() => undefined);
      rethrowAbort(c, e);
      throw fail(c, p, `${installing} failed: copying ${a.file} to the host: ${errorText(e)}`, { cause: e, retryable: true });
    }
    const script = ['base="$HOME/.labrig"', `tmp=${quoteArg(tmp)}`, CLEANUP_TRAP, finishScript(a.file, a.sha256, a.treeName, c.minMajor)].join('\n');
    return await hostShell(remote, c, p, script, installing);
  } finally {
    await rm(local, { recursive: true, force: true });
  }
}
