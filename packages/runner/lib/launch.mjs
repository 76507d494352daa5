// @ts-check
/**
 * launch(): run one labrig executor from a cached bundle. What the Nx executor
 * `@labrig/runner:run` (every inferred labrig target) and the `labrig-run` command call, with the
 * command-line options as an argv array: they are never pasted into a shell line.
 *
 * An Nx executor written in TypeScript costs a transpile of every workspace package it imports
 * (about a second on 2 cores); this costs one import of a cached bundle.
 *
 * The bundle (esbuild; npm dependencies stay external) holds the executor, its schema, the
 * runner (../src/run.ts) and, as lazily loaded chunks sharing one @labrig/core, the platform
 * modules the command may load: the one of `--platform=<name>`, or of the platform project being
 * run, else every configured platform's. A platform module that does not resolve (a misspelled
 * `platform = ...` in one platform file) is left out, so it fails only the commands that use that
 * platform, with loadPlatform's ConfigError naming the file. The bundle lives under
 * node_modules/.cache/labrig-run/ and is rebuilt when any bundled source file changed (size or
 * modification time), so an edit is always what runs.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInAgent } from './agent-client.mjs';
import { agentMode } from './link.mjs';
import { fresh } from './program.mjs';

const RUNNER_FORMAT = 5; // bump when the stub or the bundle layout changes

/** A mistake in how labrig-run was called (exit status 2). */
export class UsageError extends Error {
  /**
   * @param {string} message
   * @param {string} [hint]
   */
  constructor(message, hint) {
    super(message);
    this.name = 'UsageError';
    this.hint = hint;
  }
}

/**
 * @param {string} message
 * @param {string} [hint]
 * @returns {never}
 */
function usage(message, hint) {
  throw new UsageError(message, hint);
}

/**
 * The workspace root: the nearest folder upwards holding nx.json.
 * @param {string} from
 */
export function findRoot(from) {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from);
  }
}

/**
 * The platform folders a command may use: `--platform=<name>` (the last one given, as the option
 * parser takes it), else the platform project being run (`configs/platforms/<name>`), else all.
 * @param {string} projectRoot
 * @param {readonly string[]} argv
 * @returns {string | undefined} undefined: every platform folder
 */
export function platformOf(projectRoot, argv) {
  /** @type {string | undefined} */
  let named;
  for (let i = 0; i < argv.length; i++) {
    const a = /** @type {string} */ (argv[i]);
    if (a.startsWith('--platform=')) named = a.slice('--platform='.length);
    else if (a === '--platform' && i + 1 < argv.length) named = argv[++i];
  }
  if (named !== undefined) return named;
  const m = /^configs\/platforms\/([^/]+)\/?$/.exec(projectRoot.replace(/\\/g, '/'));
  return m?.[1];
}

/**
 * Platform plugin modules to bundle: those named by configs/platforms/<name>/platform.toml (its
 * `platform = "..."` line) for the folders the command may use, and that resolve from the
 * workspace. One that does not resolve is left out: loading it later is loadPlatform's clear
 * ConfigError for that platform file, and nothing else is affected.
 * @param {string} root
 * @param {string | undefined} only
 * @returns {string[]}
 */
function platformModules(root, only) {
  const dir = join(root, 'configs', 'platforms');
  if (!existsSync(dir)) return [];
  const req = createRequire(join(root, 'package.json'));
  /** @type {Set<string>} */
  const mods = new Set();
  for (const name of readdirSync(dir).sort()) {
    if (only !== undefined && name !== only) continue;
    const file = join(dir, name, 'platform.toml');
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // no file, or unreadable: that project's own commands say so
    }
    const m = /^\s*platform\s*=\s*["']([^"']+)["']/m.exec(text);
    if (!m?.[1] || mods.has(m[1])) continue;
    try {
      req.resolve(m[1]);
      mods.add(m[1]);
    } catch {
      /* not installed or misspelled: reported by loadPlatform when this platform is used */
    }
  }
  return [...mods].sort();
}

/**
 * @param {string} root
 * @param {string} ref `<package>:<executor>`
 * @returns {{ impl: string, schema: string }} absolute paths of the executor's implementation and schema
 */
export function resolveExecutor(root, ref) {
  const i = ref.lastIndexOf(':');
  if (i <= 0) usage(`expected <package>:<executor>, got ${JSON.stringify(ref)}`, 'Name the executor as <package>:<executor>, e.g. @labrig/platform-kit:exec.');
  const pkg = ref.slice(0, i);
  const name = ref.slice(i + 1);
  const req = createRequire(join(root, 'package.json'));
  /** @type {string} */
  let pkgJson;
  try {
    pkgJson = req.resolve(`${pkg}/package.json`);
  } catch {
    usage(`package ${pkg} is not installed in this workspace`, `Install it (npm install ${pkg}) or fix the name.`);
  }
  const pkgDir = dirname(pkgJson);
  const executorsFile = JSON.parse(readFileSync(pkgJson, 'utf8')).executors;
  if (typeof executorsFile !== 'string') usage(`${pkg} has no "executors" field in its package.json`, `${pkg} is not an Nx plugin with executors; fix the executor name.`);
  const executors = JSON.parse(readFileSync(join(pkgDir, executorsFile), 'utf8')).executors ?? {};
  const e = executors[name];
  if (!e) usage(`${pkg} has no executor ${JSON.stringify(name)}`, `Use one of: ${Object.keys(executors).join(', ')}.`);
  return { impl: resolve(pkgDir, e.implementation), schema: resolve(pkgDir, e.schema) };
}

/**
 * The cached bundle's main file, built first when missing or stale.
 * @param {string} root
 * @param {string} ref
 * @param {string} impl
 * @param {string} schema
 * @param {string | undefined} platform
 */
export async function bundleExecutor(root, ref, impl, schema, platform) {
  const modules = platformModules(root, platform);
  const stub = [
    `export { runExecutor } from '@labrig/runner/run';`,
    `export { default as executor } from ${JSON.stringify(impl)};`,
    `export { default as schema } from ${JSON.stringify(schema)};`,
    `export const modules = {`,
    ...modules.map((m) => `  ${JSON.stringify(m)}: () => import(${JSON.stringify(m)}),`),
    `};`,
    '',
  ].join('\n');
  const key = createHash('sha256').update(JSON.stringify({ RUNNER_FORMAT, node: process.versions.modules, stub })).digest('hex').slice(0, 16);
  const cacheDir = join(root, 'node_modules', '.cache', 'labrig-run', `${ref.replace(/[^a-zA-Z0-9_-]+/g, '_')}-${key}`);
  const currentFile = join(cacheDir, 'current.json');
  if (existsSync(currentFile)) {
    try {
      const cur = JSON.parse(readFileSync(currentFile, 'utf8'));
      if (fresh(cur.inputs) && existsSync(join(cacheDir, cur.build, 'main.js'))) return join(cacheDir, cur.build, 'main.js');
    } catch {
      /* a half-written current.json: rebuild */
    }
  }
  // Build into a new folder (a process still running an older build keeps its chunks), then
  // point current.json at it; builds older than an hour are removed.
  const { build } = await import('esbuild');
  mkdirSync(cacheDir, { recursive: true });
  const id = `b${Date.now().toString(36)}${process.pid.toString(36)}`;
  writeFileSync(join(cacheDir, `${id}.stub.ts`), stub);
  const req = createRequire(join(root, 'package.json'));
  /** @type {Map<string, boolean>} */
  const bundled = new Map();
  /**
   * Bundle @labrig/*, the platform modules and every package that lives in the workspace (a
   * symlink out of node_modules): they may be TypeScript and must share one @labrig/core. Other
   * npm packages and node: builtins stay external.
   * @param {string} spec
   */
  const isBundled = (spec) => {
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0] ?? spec;
    let v = bundled.get(name);
    if (v === undefined) {
      v = name.startsWith('@labrig/') || modules.includes(name);
      if (!v && !name.startsWith('node:')) {
        for (const probe of [`${name}/package.json`, name]) {
          try {
            v = !realpathSync(req.resolve(probe)).split(sep).includes('node_modules');
            break;
          } catch {
            v = false; // not resolvable this way (exports without it, or ESM-only): left to Node
          }
        }
      }
      bundled.set(name, v);
    }
    return v;
  };
  /** @type {Map<string, string | undefined>} */
  const dirs = new Map();
  /**
   * The folder of package `name` as Node finds it from `from` (undefined when not found).
   * @param {string} name
   * @param {string} from
   */
  const packageDirOf = (name, from) => {
    const key = `${name}\0${from}`;
    if (!dirs.has(key)) {
      let found;
      for (let dir = from; ; dir = dirname(dir)) {
        const candidate = join(dir, 'node_modules', name, 'package.json');
        if (existsSync(candidate)) {
          found = realpathSync(dirname(candidate));
          break;
        }
        if (dirname(dir) === dir) break;
      }
      dirs.set(key, found);
    }
    return dirs.get(key);
  };
  const external = {
    name: 'labrig-external-npm',
    /** @param {import('esbuild').PluginBuild} b */
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (a) => {
        if (a.kind === 'entry-point' || a.pluginData === 'labrig-own' || isBundled(a.path)) return undefined;
        if (a.path.startsWith('node:')) return { external: true };
        // Left to Node, a bare import resolves from the bundle's folder, i.e. the workspace root's
        // node_modules. When the importing package has its own copy (another version, nested under
        // it), import that copy by its path instead.
        const name = a.path.startsWith('@') ? a.path.split('/').slice(0, 2).join('/') : a.path.split('/')[0] ?? a.path;
        const fromImporter = packageDirOf(name, a.resolveDir);
        if (fromImporter && fromImporter !== packageDirOf(name, root)) {
          const r = await b.resolve(a.path, { resolveDir: a.resolveDir, kind: a.kind, pluginData: 'labrig-own' });
          if (!r.errors.length && r.path) return { path: r.path, external: true };
        }
        return { external: true };
      });
    },
  };
  const result = await build({
    define: { __LABRIG_SSH_CODE__: JSON.stringify(sshCodeDigest(root)) },
    absWorkingDir: root,
    entryPoints: { main: join(cacheDir, `${id}.stub.ts`) },
    outdir: join(cacheDir, id),
    outExtension: { '.js': '.js' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    sourcemap: 'inline',
    metafile: true,
    logLevel: 'error',
    plugins: [external],
    banner: { js: `import { createRequire as __labrigCreateRequire } from 'node:module'; const require = __labrigCreateRequire(import.meta.url);` },
  });
  writeFileSync(join(cacheDir, id, 'package.json'), '{"type":"module"}\n');
  /** @type {Record<string, [number, number]>} */
  const inputs = {};
  for (const rel of Object.keys(result.metafile.inputs)) {
    const file = resolve(root, rel);
    if (file.includes(`${join('node_modules', '.cache')}`)) continue;
    const s = statSync(file);
    inputs[file] = [s.mtimeMs, s.size];
  }
  // The files that choose what is bundled, besides the sources themselves.
  for (const f of [join(root, 'configs', 'platforms')]) if (existsSync(f)) inputs[f] = [statSync(f).mtimeMs, statSync(f).size];
  const tmp = join(cacheDir, `current.json.${process.pid}`);
  writeFileSync(tmp, JSON.stringify({ build: id, inputs }));
  renameSync(tmp, currentFile);
  rmSync(join(cacheDir, `${id}.stub.ts`), { force: true });
  for (const d of readdirSync(cacheDir)) {
    if (d === id || !/^b[0-9a-z]+$/.test(d)) continue;
    try {
      if (Date.now() - statSync(join(cacheDir, d)).mtimeMs > 3600_000) rmSync(join(cacheDir, d), { recursive: true, force: true });
    } catch {
      /* another process cleaned it */
    }
  }
  return join(cacheDir, id, 'main.js');
}

/**
 * A digest of @labrig/ssh's sources: the same in every executor bundle built from them, so the
 * labrig agent shares SSH pools between executors (push and setup) and never between old and new
 * code (packages/ssh/src/shared.ts).
 * @param {string} root
 */
function sshCodeDigest(root) {
  const h = createHash('sha256');
  try {
    const src = join(dirname(createRequire(join(root, 'package.json')).resolve('@labrig/ssh/package.json')), 'src');
    /** @param {string} dir */
    const walk = (dir) => {
      for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const f = join(dir, e.name);
        if (e.isDirectory()) walk(f);
        else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts')) h.update(e.name).update(readFileSync(f));
      }
    };
    walk(src);
  } catch {
    h.update(String(Date.now())); // not found: a digest of its own (no sharing with other bundles)
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * What the executor's schema says of the labrig agent: false when it says `"x-labrig-agent":
 * false` (it reads this process's stdin, or starts daemons that must not be the agent's
 * children), true otherwise, undefined when the executor cannot be resolved (running it says why).
 * Asked by the client before using the agent and by the agent before taking a native client's run.
 * @param {string} root
 * @param {string} ref
 * @returns {boolean | undefined}
 */
export function executorAllowsAgent(root, ref) {
  try {
    const { schema } = resolveExecutor(root, ref);
    return JSON.parse(readFileSync(schema, 'utf8'))['x-labrig-agent'] !== false;
  } catch {
    return undefined;
  }
}

/**
 * @typedef {object} LaunchArgs
 * @property {string} root the workspace root
 * @property {string} ref `<package>:<executor>`
 * @property {string} project the Nx project name
 * @property {string} projectRoot the project's folder, relative to the root
 * @property {readonly string[]} argv the executor's options as given (`--name=value`, byte for byte)
 */

/**
 * Run the executor; resolves to the exit status (0 success, 1 failure, 2 bad options or usage).
 * Errors are printed (message and hint, no stack), never thrown.
 * @param {LaunchArgs} a
 * @returns {Promise<number>}
 */
export async function launch(a) {
  // `--no-agent` (anywhere among the options; no executor has an option of that name): this process.
  const noAgent = a.argv.includes('--no-agent');
  if (noAgent) a = { ...a, argv: a.argv.filter((x) => x !== '--no-agent') };
  if (!noAgent && agentMode(process.env) === 'on' && executorAllowsAgent(a.root, a.ref) === true) {
    const code = await runInAgent(a);
    if (code !== undefined) return code;
  }
  return runFromBundle(a);
}

/**
 * Import the executor's bundle (built first when stale) and run it here: this process's command,
 * or one command inside the labrig agent (which passes `around` to build outside the command's
 * scope). Resolves to the exit status; a bundle that cannot be prepared is printed, exit 2.
 * @param {LaunchArgs} a
 * @param {<T>(build: () => Promise<T>) => Promise<T>} [around]
 * @returns {Promise<number>}
 */
export async function runFromBundle(a, around = (build) => build()) {
  let m;
  try {
    const { impl, schema } = resolveExecutor(a.root, a.ref);
    const main = await around(() => bundleExecutor(a.root, a.ref, impl, schema, platformOf(a.projectRoot, a.argv)));
    m = await import(pathToFileURL(main).href);
  } catch (err) {
    const e = /** @type {Error & { hint?: string }} */ (err);
    process.stderr.write(`✖ labrig-run: ${e instanceof UsageError ? e.message : `cannot prepare ${a.ref}: ${e.message}`}\n`);
    process.stderr.write(`  hint: ${e.hint ?? 'This is a bug in labrig or in the plugin; run again with the message above in a report.'}\n`);
    return 2;
  }
  return m.runExecutor({ root: a.root, ref: a.ref, project: a.project, projectRoot: a.projectRoot, argv: [...a.argv], executor: m.executor, schema: m.schema, modules: m.modules });
}
