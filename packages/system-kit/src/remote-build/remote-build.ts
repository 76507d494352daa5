/**
 * A system's build on one of the platform's hosts (`[build] on`): the build runs where the system
 * will run (an x86 cluster built from an ARM laptop), and its outputs come back into
 * dist/<projectRoot>, where Nx caches them exactly as for a local build.
 *
 * 1. `uname -m` on the build host against the declared arch: a mismatch is refused before anything
 *    is sent (ConfigError naming the host, both values and the field).
 * 2. Sync: the declared sources go to `~/.labrig/build/<project>/src/`, content-addressed per file
 *    (only files whose sha256 differs there are sent, as one tar stream, each verified there; files
 *    labrig sent before and no longer declared are deleted; what the build itself leaves there stays).
 * 3. Run: the build command in that folder (`{out}` = `~/.labrig/build/<project>/out`, emptied
 *    first), in its own process group, output streamed here and kept in `build.log` there, pty
 *    when asked; on the time limit the whole group is killed (StepTimeout).
 *    An interrupt (Ctrl-C: `outer`) stops the build there the same way.
 * 4. Fetch: each declared output into a staging folder, verified by sha256 against the host's copy,
 *    then moved into place as a whole. A failed build leaves no dist/ folder at all.
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { dirname, join, relative } from 'node:path';
import type { Host, PlatformInstance, Remote } from '@labrig/core';
import { Aborted, ConfigError, LabrigError, OptionError, StepTimeout, TransferVerifyFailed, formatBytes, formatDuration, installInterruptHandlers, interruptSignal, listPlatforms, quote } from '@labrig/core';
import { platformFileOf } from '@labrig/core/platform-list';
import { readBuildPlacement } from './placement.js';
import { normalizeArch } from './arch.js';
import { listSources, type SourceFile } from './sources.js';

/** The build folder on the host, relative to the login home. */
export const remoteBuildDir = (project: string): string => `.labrig/build/${project}`;

export interface RemoteBuildSpec {
  /** Workspace root. */
  root: string;
  /** The system's folder, relative to the root (targets/<name>). */
  projectRoot: string;
  /** The project name (names the folder on the host). */
  project: string;
  /** The system file, relative to the root (for messages). */
  file: string;
  /** Source globs, relative to `sourceDir` (for a system folder: the build target's Nx inputs). */
  sources: readonly string[];
  /** Globs (relative to `sourceDir`) never sent, e.g. a checkout's own build outputs. */
  exclude?: readonly string[];
  /** The folder the sources are in (absolute). Default: the system's folder. */
  sourceDir?: string;
  /** Where `sources` is declared (for errors). */
  sourcesField: string;
  /** The build command for a given `{out}` (an absolute path on the host). */
  command: (out: string) => string[];
  /** Files the build must leave in `{out}`, relative to it: fetched into `dest`. `dir/`: every file under it (none is fine). */
  outputs: readonly string[];
  /** Where `outputs` is declared (for errors). */
  outputsField: string;
  /** The declared architecture, and where it is declared (`file`, `field`). */
  arch: { value: string; file: string; field: string };
  pty?: boolean;
  timeoutMs: number;
  env?: Record<string, string>;
  /** Local folder the outputs end up in (dist/<projectRoot>); replaced as a whole. */
  dest: string;
  /** A line of progress (default: console.log). */
  log?: (line: string) => void;
  /** Build output as it arrives (default: process.stdout). */
  onOutput?: (chunk: Buffer) => void;
}

export interface SyncReport {
  /** Declared source files. */
  files: number;
  /** Files sent (their content differed on the host or was missing). */
  sent: number;
  bytesSent: number;
  /** Files labrig had sent before that are no longer declared, deleted on the host. */
  deleted: number;
  unchanged: number;
  /** Paths sent (relative to the system's folder). */
  sentPaths: string[];
}

export interface FetchedOutput {
  path: string;
  sha256: string;
  size: number;
}

export interface RemoteBuildResult {
  host: string;
  arch: string;
  /** The build folder on the host (absolute). */
  dir: string;
  sync: SyncReport;
  outputs: FetchedOutput[];
  durationMs: number;
}

/** The build command failed on the build host: its exit status and the end of its log there. */
export class RemoteBuildFailed extends LabrigError {
  readonly code = 'BUILD_FAILED';
  readonly host: string;
  readonly exitCode: number | null;
  readonly logTail: string[];
  constructor(host: string, result: { exitCode: number | null; signal: string | null }, logFile: string, logTail: string[]) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with status ${result.exitCode}`;
    super(`the build on ${host} ${how}; last lines of ${logFile} there:\n  ${logTail.join('\n  ') || '(the log is empty)'}`, {
      hint: `Fix the build and run it again (the whole log is ${logFile} on ${host}).`,
    });
    this.host = host;
    this.exitCode = result.exitCode;
    this.logTail = logTail;
  }
}

/**
 * The host a build runs on: `on` names an inventory host, else a role (the system's roles first,
 * then the platform's roles): its first host.
 */
export function resolveBuildHost(inventory: readonly Host[], on: string, where: { file: string; field: string }, systemRoles: Record<string, readonly Host[]> = {}): Host {
  const byName = inventory.find((h) => h.name === on);
  if (byName) return byName;
  const ofRole = systemRoles[on]?.[0] ?? inventory.find((h) => h.roles.includes(on));
  if (ofRole) return ofRole;
  const roles = [...new Set([...Object.keys(systemRoles), ...inventory.flatMap((h) => h.roles)])];
  throw new ConfigError(where.file, where.field, `${JSON.stringify(on)} is neither a host nor a role of the platform (hosts: ${inventory.map((h) => h.name).join(', ') || 'none'}; roles: ${roles.join(', ') || 'none'})`, {
    hint: `Name one of the platform's hosts or roles in ${where.field} in ${where.file}.`,
  });
}

/** What a remote build would do, as lines (`--dry-run`): nothing is contacted. */
export function describeRemoteBuild(spec: RemoteBuildSpec, host: Host): string[] {
  const dir = `~/${remoteBuildDir(spec.project)}`;
  return [
    `build on ${host.name} (${host.user ? `${host.user}@` : ''}${host.address}${host.port ? `:${host.port}` : ''}), arch ${normalizeArch(spec.arch.value)} (${spec.arch.field} in ${spec.arch.file})`,
    `  check  uname -m on ${host.name} = ${normalizeArch(spec.arch.value)}`,
    `  sync   ${spec.projectRoot}/{${spec.sources.join(',')}} -> ${host.name}:${dir}/src/ (files whose sha256 differs there; files no longer declared are deleted)`,
    `  run    ${quote(spec.command(`${dir}/out`))}  (in ${dir}/src, ${spec.pty ? 'pty, ' : ''}time limit ${formatDuration(spec.timeoutMs)}, log ${dir}/build.log)`,
    ...spec.outputs.map((o) => `  fetch  ${host.name}:${dir}/out/${o} -> ${relative(spec.root, join(spec.dest, o))} (sha256 verified)`),
  ];
}

const STATE_SCRIPT = [
  'mkdir -p -- "$1/src" "$1/out" && cd -- "$1/src" || exit 97',
  'if [ -f ../sources.list ]; then cat ../sources.list; fi',
  'echo "--labrig-digests--"',
  "tr '\\n' '\\0' | xargs -0 -r sha256sum -- 2>/dev/null",
  'exit 0',
].join('\n');

/** For each declared output: `<mode>\t<path>` (a `dir/`: one line per file under it), or `-\t<path>` when missing. */
const LIST_OUTPUTS = [
  'cd -- "$1/out" || exit 97; shift',
  'for f in "$@"; do',
  '  case "$f" in',
  '  */) if [ -d "$f" ]; then find "$f" -type f -exec stat -c "%a\t%n" {} +; fi ;;',
  '  *) if [ -f "$f" ]; then stat -c "%a\t%n" -- "$f"; else printf -- "-\t%s\n" "$f"; fi ;;',
  '  esac',
  'done',
].join('\n');

/** The build in its own session (so a time limit kills all of it), its output also in build.log, its status in build.status. */
const RUN_SCRIPT = [
  'base=$1; shift',
  'cd -- "$base/src" || exit 97',
  'rm -rf -- "$base/out" "$base/build.status" && mkdir -p -- "$base/out" || exit 97',
  'echo $$ > "$base/build.pid"',
  '{ "$@"; echo $? > "$base/build.status"; } 2>&1 | tee "$base/build.log"',
  's=$(cat "$base/build.status" 2>/dev/null)',
  'rm -f -- "$base/build.pid"',
  'exit "${s:-255}"',
].join('\n');

/** `sha256sum` output as path → digest (files it could not read are not in it). */
function parseSha256sum(stdout: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const x = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (x) m.set(x[2]!, x[1]!);
  }
  return m;
}

/**
 * The files as one tar stream (one round trip however many there are; `tar` here and there, GNU or
 * BSD), unpacked into `dir` on the host, then every file's sha256 there checked against ours.
 */
async function sendTar(remote: Remote, dir: string, localDir: string, files: readonly SourceFile[], signal: AbortSignal): Promise<void> {
  const sink = remote.spawn(['sh', '-c', 'mkdir -p -- "$1" && cd -- "$1" && exec tar -x -f - --no-same-owner', 'sh', dir], { signal });
  const tar = spawn('tar', ['-c', '-f', '-', '--no-recursion', '--null', '-T', '-'], { cwd: localDir, stdio: ['pipe', 'pipe', 'pipe'], signal });
  let stderr = '';
  tar.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
  tar.stdout.on('data', (c: Buffer) => sink.write(c));
  const packed = new Promise<number | null>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', resolve);
  });
  tar.stdin.end(files.map((f) => `${f.path}\0`).join(''));
  const code = await packed.catch((e: unknown) => {
    sink.kill();
    throw e;
  });
  if (code !== 0) {
    sink.kill();
    throw new Error(`tar (packing ${files.length} source file(s) in ${localDir}) exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  sink.end();
  await sink.result;
  const check = await remote.exec(['sh', '-c', 'cd -- "$1" && tr \'\\n\' \'\\0\' | xargs -0 -r sha256sum --', 'sh', dir], { stdin: files.map((f) => f.path).join('\n'), signal });
  const got = parseSha256sum(check.stdout);
  const bad = files.find((f) => got.get(f.path) !== f.sha256);
  if (bad) throw new TransferVerifyFailed(remote.host.name, `${dir}/${bad.path}`, bad.sha256, got.get(bad.path) ?? '');
}

/** Send the declared sources that differ on the host; delete what labrig sent before and is no longer declared. */
export async function syncSources(remote: Remote, base: string, projectDir: string, local: readonly SourceFile[], signal: AbortSignal): Promise<SyncReport> {
  const state = await remote.exec(['sh', '-c', STATE_SCRIPT, 'sh', base], { stdin: local.map((f) => f.path).join('\n'), signal });
  const [listed = '', digests = ''] = state.stdout.split('--labrig-digests--\n');
  const before = listed.split('\n').filter(Boolean);
  const there = parseSha256sum(digests);
  const changed = local.filter((f) => there.get(f.path) !== f.sha256);
  const declared = new Set(local.map((f) => f.path));
  const removed = before.filter((p) => !declared.has(p));
  if (changed.length > 0) await sendTar(remote, `${base}/src`, projectDir, changed, signal);
  const bytesSent = changed.reduce((s, f) => s + f.size, 0);
  if (removed.length > 0) {
    await remote.exec(['sh', '-c', 'cd -- "$1/src" && tr \'\\n\' \'\\0\' | xargs -0 -r rm -f --', 'sh', base], { stdin: removed.join('\n'), signal });
  }
  // What labrig put there, for the next sync's deletions (written last: a sync cut short is redone).
  await remote.exec(['sh', '-c', 'cat > "$1/sources.list.tmp" && mv -f -- "$1/sources.list.tmp" "$1/sources.list"', 'sh', base], {
    stdin: local.map((f) => f.path).join('\n') + '\n',
    signal,
  });
  return { files: local.length, sent: changed.length, bytesSent, deleted: removed.length, unchanged: local.length - changed.length, sentPaths: changed.map((f) => f.path) };
}

/**
 * Run the build on `host` over `remote` and fetch its outputs into `spec.dest`. Throws ConfigError
 * (arch mismatch, no sources), RemoteBuildFailed, StepTimeout or the transport's typed errors
 * (HostUnreachable, AuthFailed...); `dest` then does not exist.
 */
export async function runRemoteBuild(spec: RemoteBuildSpec, host: Host, remote: Remote, outer?: AbortSignal): Promise<RemoteBuildResult> {
  const log = spec.log ?? ((l: string) => console.log(l));
  const t0 = Date.now();
  const limit = new AbortController();
  let phase = 'connect';
  const timer = setTimeout(() => limit.abort(new StepTimeout(host.name, `build (${phase})`, spec.timeoutMs)), spec.timeoutMs);
  const onOuter = () => limit.abort(new Aborted(`interrupted during the ${phase}; the build on ${host.name} was stopped there`));
  outer?.addEventListener('abort', onOuter, { once: true });
  const signal = limit.signal;
  setMaxListeners(0, signal); // every remote command of the build listens to it
  const staging = `${spec.dest}.partial`;
  rmSync(spec.dest, { recursive: true, force: true });
  rmSync(staging, { recursive: true, force: true });
  const timedOut = (e: unknown): unknown => (signal.aborted && (signal.reason instanceof StepTimeout || signal.reason instanceof Aborted) ? signal.reason : e);
  let base = '';
  try {
    // 1. The architecture, before anything is sent.
    phase = 'arch check';
    const declared = normalizeArch(spec.arch.value);
    // With the build's environment: the `uname` its PATH finds is the one the build sees.
    const uname = await remote.exec(['uname', '-m'], { signal, ...(spec.env ? { env: spec.env } : {}) });
    const found = normalizeArch(uname.stdout);
    if (found !== declared) {
      throw new ConfigError(spec.arch.file, spec.arch.field, `the build host ${host.name} is ${found} (its \`uname -m\`), but ${declared} is declared`, {
        hint: `Set ${spec.arch.field.replace(/^build\./, '[build] ')} = "${found}" in ${spec.arch.file} if the hosts are ${found}, or build on a host that is ${declared} ([build] on). Nothing was sent.`,
      });
    }
    const home = (await remote.exec(['sh', '-c', 'printf %s "$HOME"'], { signal })).stdout;
    if (!home.startsWith('/')) throw new Error(`${host.name}: $HOME is not an absolute path (${JSON.stringify(home)})`);
    base = `${home}/${remoteBuildDir(spec.project)}`;

    // 2. Sources.
    phase = 'sync';
    const projectDir = spec.sourceDir ?? join(spec.root, spec.projectRoot);
    const sources = await listSources(projectDir, spec.sources, { file: spec.file, field: spec.sourcesField }, spec.exclude);
    const sync = await syncSources(remote, base, projectDir, sources, signal);
    log(`  sync   ${sync.sent} of ${sync.files} source file${sync.files === 1 ? '' : 's'} sent (${formatBytes(sync.bytesSent)}), ${sync.unchanged} unchanged, ${sync.deleted} deleted${sync.sent && sync.sent <= 5 ? `: ${sync.sentPaths.join(', ')}` : ''}`);

    // 3. The build.
    phase = 'build command';
    const argv = spec.command(`${base}/out`);
    log(`  run    ${quote(argv)}  (on ${host.name}, in ~/${remoteBuildDir(spec.project)}/src)`);
    const out = spec.onOutput ?? ((c: Buffer) => void process.stdout.write(c));
    const r = await remote
      .exec(['setsid', '-w', 'sh', '-c', RUN_SCRIPT, 'sh', base, ...argv], {
        signal,
        allowFailure: true,
        ...(spec.pty ? { pty: true } : {}),
        ...(spec.env ? { env: spec.env } : {}),
        onStdout: out,
        onStderr: out,
      })
      .catch(async (e: unknown) => {
        if (signal.aborted) await killBuild(remote, base);
        throw e;
      });
    if (signal.aborted) {
      // The time limit (or an interrupt) ended the command: end the whole build there too.
      await killBuild(remote, base);
      throw signal.reason;
    }
    if (r.exitCode !== 0) {
      const tail = await remote.exec(['tail', '-n', '15', '--', `${base}/build.log`], { allowFailure: true, signal });
      throw new RemoteBuildFailed(host.name, r, `~/${remoteBuildDir(spec.project)}/build.log`, tail.stdout.replace(/\r/g, '').trimEnd().split('\n').filter(Boolean));
    }

    // 4. The outputs, verified, into a staging folder, then into place as a whole.
    phase = 'fetch';
    const outputs: FetchedOutput[] = [];
    // Each output's mode and path (a folder: each file under it), or `-` and the path when it is missing.
    const listing = await remote.exec(['sh', '-c', LIST_OUTPUTS, 'sh', base, ...spec.outputs], { signal });
    const produced: { mode: string; path: string }[] = [];
    const missing: string[] = [];
    for (const line of listing.stdout.split('\n').filter(Boolean)) {
      const [mode = '', ...rest] = line.split('\t');
      const path = rest.join('\t').replace(/\/{2,}/g, '/');
      if (/^[0-7]{3,4}$/.test(mode)) produced.push({ mode, path });
      else missing.push(path);
    }
    if (missing.length > 0) {
      throw new ConfigError(spec.file, spec.outputsField, `the build on ${host.name} did not produce ${missing.join(', ')} (looked in ~/${remoteBuildDir(spec.project)}/out)`);
    }
    mkdirSync(staging, { recursive: true });
    for (const f of produced) {
      const local = join(staging, f.path);
      mkdirSync(dirname(local), { recursive: true });
      const g = await remote.getFile(`${base}/out/${f.path}`, local, { signal, mode: parseInt(f.mode, 8) });
      outputs.push({ path: f.path, sha256: g.sha256, size: g.bytes });
    }
    renameSync(staging, spec.dest);
    log(`  fetch  ${outputs.length} output${outputs.length === 1 ? '' : 's'} (${formatBytes(outputs.reduce((s, o) => s + o.size, 0))}) into ${relative(spec.root, spec.dest)}, sha256 verified`);
    return { host: host.name, arch: found, dir: base, sync, outputs, durationMs: Date.now() - t0 };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    rmSync(spec.dest, { recursive: true, force: true });
    throw timedOut(e);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  }
}

/** After a time limit: TERM, then KILL, to the build's whole process group (bounded: the host may be frozen). */
async function killBuild(remote: Remote, base: string): Promise<void> {
  if (!base) return;
  const script = 'p=$(cat "$1/build.pid" 2>/dev/null) || exit 0; kill -TERM "-$p" 2>/dev/null; i=0; while [ $i -lt 10 ] && kill -0 "-$p" 2>/dev/null; do sleep 0.2; i=$((i + 1)); done; kill -KILL "-$p" 2>/dev/null; rm -f -- "$1/build.pid"; exit 0';
  await remote.exec(['sh', '-c', script, 'sh', base], { allowFailure: true, signal: AbortSignal.timeout(8000) }).catch(() => undefined);
}

/** A build target's options that place it on a platform host (set by its Nx configuration, or typed). */
export interface BuildPlacementOptions {
  platform?: string;
  buildOn?: string;
  arch?: string;
}

export interface ResolvedPlacement {
  platform: string;
  /** Host name or role. */
  on: string;
  onFrom: { file: string; field: string };
  arch: string;
  archFrom: { file: string; field: string };
}

/**
 * Where a build runs: undefined = here. Options equal to what the files say keep the files as
 * their source (for messages); a value only the command line gave is named as such. A build on a
 * host without a declared architecture is a ConfigError naming both places it may be declared.
 */
export function placeBuild(root: string, file: string, systemBuild: { on?: unknown; arch?: unknown } | undefined, o: BuildPlacementOptions): ResolvedPlacement | undefined {
  const commandLine = (field: string) => ({ file: 'the command line', field });
  const placement = o.platform ? readBuildPlacement(root, file, systemBuild, o.platform) : undefined;
  const on = o.buildOn ?? placement?.on;
  if (on === undefined || !o.platform) {
    const named = typeof systemBuild?.on === 'string' ? `build.on = "${systemBuild.on}"\` in ${file}` : o.buildOn !== undefined ? `--buildOn=${o.buildOn}\`` : undefined;
    if (named !== undefined) {
      const known = listPlatforms(root);
      throw new OptionError('configuration', o.platform, `the platform whose host \`${named} names, one of: ${known.join(' | ') || '(none configured)'}`);
    }
    return undefined;
  }
  const arch = o.arch ?? placement?.arch;
  if (arch === undefined) {
    throw new ConfigError(file, 'build.arch', `a build on a platform host (${on}) needs the architecture it builds for`, {
      hint: `Declare it: arch = "x86_64" (or "aarch64": what \`uname -m\` prints on the hosts) in [build] of ${file}, or in [build] of ${platformFileOf(o.platform)}. It is part of the build's Nx hash.`,
    });
  }
  return {
    platform: o.platform,
    on,
    onFrom: placement && (o.buildOn === undefined || o.buildOn === placement.on) ? placement.onFrom : commandLine('--buildOn'),
    arch: normalizeArch(arch),
    archFrom: placement && (o.arch === undefined || normalizeArch(o.arch) === placement.arch) ? placement.archFrom : commandLine('--arch'),
  };
}

/**
 * runRemoteBuild through the platform's connector: connected within the build's time limit, and
 * Ctrl-C (or Nx ending the task) stops the build on the host too, not only here.
 */
export async function runRemoteBuildOn(spec: RemoteBuildSpec, host: Host, platform: PlatformInstance): Promise<RemoteBuildResult> {
  installInterruptHandlers();
  const connector = platform.platform.createConnector(platform.cfg, platform.ctx);
  try {
    const remote = await connector.connect(host, AbortSignal.any([AbortSignal.timeout(spec.timeoutMs), interruptSignal()]));
    return await runRemoteBuild(spec, host, remote, interruptSignal());
  } finally {
    await connector.close();
  }
}
