/**
 * Options reach the hosts byte for byte through the real `nx` CLI: seeded random strings full of
 * what a shell would re-interpret (quotes of both kinds, `$VAR`, `$(...)`, backticks, `!`, `\`,
 * `;`, `&&`, newlines, tabs, unicode, leading dashes, the empty string) are given inside `--cmd`
 * to a platform target (`nx run <platform>:exec`) and to a system target (`nx run <system>:exec
 * -c <platform>`); the remote side prints each back with `printf '%s\0'` (as hex, so no output
 * layer can alter it) and the bytes are compared one by one. Real sshd hosts on 127.0.133.x.
 *
 * The seed is random per run and printed with every failure; `FUZZ_SEED=<n>` replays a run.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down } from '@labrig/testbed';
import { quoteArg } from '@labrig/core';
import { createE2eWorkspace, localPlatformFile, testbedDir, type E2eWorkspace } from './workspace.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const PER_RUN = 8; // strings per nx run (each run costs ~3 s of Nx start-up)
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 26); // 26 x 8 = 208 strings per target

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  "'", '"', "''", '""', '$', '$HOME', '${HOME}', '$(id -un)', '`id -un`', '$((1+2))', '!', '!!', '!$', '\\', '\\\\', '\\n', '\\"', ';', '&&', '||', '|', '&',
  '>', '<', '2>&1', '*', '?', '[a-z]', '~', '#', '%s', '%%', '{args.cmd}', '{}', '=', '--', '-', '-x', '--cmd=', '--platform=x', '\n', '\t', '\r\n', ' ', '  ',
  'é', 'ß', '日本語', '🚀', 'e\u0301', '\u00a0', '\u200b', 'a', 'Z', '0', '007', '1e3', '0x1F', 'true', 'false', 'null', '.', '/', ',', '(', ')', '{', '}', '^', '@',
];

function randomString(r: () => number): string {
  const kind = r();
  if (kind < 0.04) return '';
  const n = 1 + Math.floor(r() * 8);
  let s = kind < 0.14 ? (r() < 0.5 ? '--' : '-') : '';
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)]!;
  return s;
}

/** The command the user types: print each string NUL-terminated, as hex (one line per host). */
function commandFor(strings: string[], r: () => number): string {
  const print = `printf '%s\\0' ${strings.map((s) => quoteArg(s)).join(' ')} | od -An -v -tx1 | tr -d '\\n'; echo`;
  // Sometimes the whole value starts with dashes too (sh reports the unknown command and goes on).
  return r() < 0.2 ? `--lead-${Math.floor(r() * 100)} 2>/dev/null; ${print}` : print;
}

/** Strings printed back by a host: hex pairs -> bytes -> split at each NUL. */
function decode(hex: string): Buffer[] {
  const bytes = Buffer.from(hex.trim().split(/\s+/).filter(Boolean).map((h) => parseInt(h, 16)));
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0) (out.push(bytes.subarray(start, i)), (start = i + 1));
  return out;
}

let ws: E2eWorkspace;
let tbDir: string;

beforeAll(async () => {
  ws = createE2eWorkspace('e2e-options-');
  tbDir = testbedDir('options');
  ws.write('configs/platforms/fz/platform.toml', localPlatformFile({ dir: tbDir, hosts: 2, addressBase: '127.0.133.0', port: 2460, extra: ['[run]', 'timeout = "1m"'] }));
  // A second platform named `local` (never started): the one Nx used to fall back to for an unknown -c.
  ws.write('configs/platforms/local/platform.toml', localPlatformFile({ dir: join(tbDir, 'never-started'), hosts: 1, addressBase: '127.0.133.64', port: 2461 }));
  ws.write('targets/fzsys/system.toml', ['system = "@labrig/system-generic"', 'sources = []', '[build]', `command = ["sh", "-c", 'mkdir -p "$0" && : > "$0/x"', "{out}"]`, 'outputs = ["x"]', '[roles.main]', 'hosts = { indexes = [0, 1] }', ''].join('\n'));
  const up = await ws.nx(['run', 'fz:up']);
  if (up.exitCode !== 0) throw new Error(`nx run fz:up failed:\n${up.all}`);
}, 300_000);

afterAll(async () => {
  if (tbDir && existsSync(join(tbDir, 'state.json'))) await down(tbDir);
  if (tbDir) rmSync(tbDir, { recursive: true, force: true });
  if (ws && !process.env['KEEP']) ws.remove();
});

/**
 * `RUNS` nx runs of `args(cmd)`, each with PER_RUN random strings; every host's output must hold
 * exactly those strings. `hostLines` picks each host's hex line out of the nx output.
 */
async function fuzz(label: string, seed: number, args: (cmd: string) => string[], hostLines: (out: string) => Map<string, string>, hosts: string[]): Promise<number> {
  const r = prng(seed);
  let checked = 0;
  for (let run = 0; run < RUNS; run++) {
    const strings = Array.from({ length: PER_RUN }, () => randomString(r));
    const cmd = commandFor(strings, r);
    const res = await ws.nx(args(cmd));
    const where = `${label}, FUZZ_SEED=${SEED}, run ${run}, --cmd=${JSON.stringify(cmd)}`;
    expect(res.exitCode, `${where}\n${res.all.slice(-3000)}`).toBe(0);
    const lines = hostLines(res.all.replace(/\r/g, ''));
    expect([...lines.keys()].sort(), `${where}: hosts that printed\n${res.all.slice(-3000)}`).toEqual(hosts);
    for (const [host, hex] of lines) {
      const got = decode(hex);
      expect(got.length, `${where}: ${host} printed ${got.length} strings, expected ${strings.length}`).toBe(strings.length);
      strings.forEach((s, i) => {
        const want = Buffer.from(s, 'utf8');
        expect(got[i]!.equals(want), `${where}: ${host}, string ${i}: sent ${JSON.stringify(s)} (${want.toString('hex')}), got ${JSON.stringify(got[i]!.toString('utf8'))} (${got[i]!.toString('hex')})`).toBe(true);
      });
      checked += strings.length;
    }
  }
  return checked;
}

describe(`options through the real nx CLI, byte for byte (FUZZ_SEED=${SEED})`, () => {
  it('a platform target: nx run <platform>:exec --cmd=... on every host', async () => {
    const n = await fuzz(
      'nx run fz:exec',
      SEED,
      (cmd) => ['run', 'fz:exec', `--cmd=${cmd}`, '--output=json'],
      (out) => {
        const line = out.split('\n').find((l) => l.startsWith('{"type":"outputs"'));
        if (!line) return new Map();
        const outputs = (JSON.parse(line) as { outputs: Record<string, { stdout: string }> }).outputs;
        return new Map(Object.entries(outputs).map(([h, o]) => [h, o.stdout]));
      },
      ['tb-0', 'tb-1'],
    );
    expect(n).toBe(RUNS * PER_RUN * 2); // 208 strings, each checked on both hosts
  });

  it('a system target: nx run <system>:exec -c <platform> --cmd=... on the hosts of its roles', async () => {
    const n = await fuzz(
      'nx run fzsys:exec -c fz',
      SEED + 1,
      (cmd) => ['run', 'fzsys:exec', '-c', 'fz', `--cmd=${cmd}`, '--output=plain'],
      (out) => new Map([...out.matchAll(/^\[(tb-\d+)\] ?((?: [0-9a-f]{2})*)$/gm)].map((m) => [m[1]!, m[2]!])),
      ['tb-0', 'tb-1'],
    );
    expect(n).toBe(RUNS * PER_RUN * 2);
  });

  it('a mistyped or missing -c runs nothing anywhere: the error names the platforms (Nx would run an unknown configuration as the default one)', async () => {
    const runs = () => (existsSync(join(ws.dir, '.labrig/runs')) ? readdirSync(join(ws.dir, '.labrig/runs')).length : 0);
    const before = runs();
    for (const args of [['-c', 'fzz'], []]) {
      const res = await ws.nx(['run', 'fzsys:exec', ...args, '--cmd=true']);
      expect(res.exitCode, res.all.slice(-2000)).not.toBe(0);
      expect(res.all).toContain('✖ option --configuration: not given, expected the platform to run on, one of: fz | local (e.g. -c local;');
    }
    expect(runs()).toBe(before);
  });

  it('a fixed option and a typed one that clash: the typed one wins, and the target definition cannot be replaced', async () => {
    // --platform is fixed by the target (`fz`); typing --executor or --project-root changes nothing.
    const res = await ws.nx(['run', 'fz:exec', '--cmd=echo "$0 ok"', '--executor=nope:nope', '--project-root=/', '--output=plain']);
    // The runner's option parser names the unknown option: it arrived as typed, not as Nx parsed it.
    expect(res.exitCode).not.toBe(0);
    expect(res.all).toContain('option --executor: got "nope:nope"');
  });
});
