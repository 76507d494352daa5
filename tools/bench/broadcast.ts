/**
 * tools/bench/broadcast: one large artifact to 1, 2, 4 and 8 hosts that sit behind a thin uplink
 * (testbed hosts behind a login host, in a network namespace whose link from this machine is
 * rate-limited by tc), three ways:
 *   - ssh:   this machine sends every host its copy (Remote.putFile to all hosts at once: what the
 *            `put` action of a deploy does);
 *   - chain: system-kit's sendChain (what `distribute = "chain"` runs): sent once, each host
 *            forwards to the next while it writes;
 *   - tree:  a tree of fan-out 2, for comparison only (this file's TREE_RECEIVER: each host writes
 *            and forwards to two children at once, via FIFOs and tee).
 * Before a time is kept, every host's copy is checked (sha256sum there equals the file's) and
 * the bytes through the uplink are read from the veth's counters.
 * `store` (hosts fetch from S3) is not measured: the S3 server would have to run inside the
 * namespace, and the uplink would then carry the one upload, as chain's does.
 *
 * Usage: tools/bench/broadcast [--repeats 1] [--size-mib 256] [--rate 20mbit] [--hosts 1,2,4,8] [--modes ssh,chain,tree] [--keep]
 * Hosts on 127.0.153.x:2580.
 */
import { createHash, randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { chmodSync, createReadStream, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { Remote } from '@labrig/core';
import { quoteArg } from '@labrig/core';
import { SshPool, authorizeDeployKey, ensureDeployKey, type DeployKey } from '@labrig/ssh';
import { prepareSender, sendChain } from '@labrig/system-kit';
import { down, toHost, up, uplinkBytes, type TestbedState } from '@labrig/testbed';
import { machineLine, median } from './nx-workspace.js';

type Mode = 'ssh' | 'chain' | 'tree';

interface Args {
  repeats: number;
  sizeMiB: number;
  rate: string;
  hosts: number[];
  modes: Mode[];
  keep: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { repeats: 1, sizeMiB: 256, rate: '20mbit', hosts: [1, 2, 4, 8], modes: ['ssh', 'chain', 'tree'], keep: false };
  const value = (i: number, opt: string): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`tools/bench/broadcast: ${opt} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const o = argv[i]!;
    if (o === '--repeats') a.repeats = Number(value(i++, o));
    else if (o === '--size-mib') a.sizeMiB = Number(value(i++, o));
    else if (o === '--rate') a.rate = value(i++, o);
    else if (o === '--hosts') a.hosts = value(i++, o).split(',').map(Number);
    else if (o === '--modes') a.modes = value(i++, o).split(',') as Mode[];
    else if (o === '--keep') a.keep = true;
    else throw new Error(`tools/bench/broadcast: unknown option ${JSON.stringify(o)} (known: --repeats N --size-mib N --rate 20mbit --hosts 1,2,4,8 --modes ssh,chain,tree --keep)`);
  }
  if (!Number.isInteger(a.repeats) || a.repeats < 1) throw new Error(`--repeats: expected a whole number >= 1, got ${a.repeats}`);
  if (!(a.sizeMiB > 0)) throw new Error(`--size-mib: expected a positive number, got ${a.sizeMiB}`);
  if (!/^[0-9]+(\.[0-9]+)?(kbit|mbit|gbit)$/.test(a.rate)) throw new Error(`--rate: expected e.g. 20mbit, got ${JSON.stringify(a.rate)}`);
  if (a.hosts.some((n) => !Number.isInteger(n) || n < 1 || n > 8)) throw new Error(`--hosts: expected counts from 1 to 8, got ${a.hosts.join(',')}`);
  const bad = a.modes.filter((m) => !['ssh', 'chain', 'tree'].includes(m));
  if (bad.length) throw new Error(`--modes: unknown ${bad.join(', ')} (known: ssh, chain, tree)`);
  return a;
}

const DEST = '.labrig/bench-broadcast/payload.bin';
const TREE = '.labrig/bin/tree-recv.sh';

/**
 * Tree receiver (bench only): $1 tmp $2 dest $3 sha $4 key $5 known_hosts $6 label $7 children,
 * then per child: user@address port command. Writes while forwarding to every child (FIFOs fed by
 * one tee), then verifies; prints `ok <label>` or `fail <label> <why>`, and its children's lines.
 */
const TREE_RECEIVER = `set -u
tmp=$1 dest=$2 sha=$3 key=$4 kh=$5 me=$6 n=$7; shift 7
mkdir -p -- "$(dirname -- "$tmp")"
d=$(mktemp -d) outs=""
i=0
while [ "$i" -lt "$n" ]; do
  tgt=$1 port=$2 cmd=$3; shift 3
  mkfifo "$d/f$i"
  ssh -i "$key" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$kh" -o ConnectTimeout=10 -p "$port" -- "$tgt" "$cmd" < "$d/f$i" &
  outs="$outs $d/f$i"
  i=$((i + 1))
done
tee -p -- "$tmp" $outs > /dev/null
wait
rm -rf -- "$d"
h=$(sha256sum < "$tmp" | cut -c1-64)
if [ "$h" = "$sha" ]; then mv -f -- "$tmp" "$dest" && echo "ok $me"; else rm -f -- "$tmp"; echo "fail $me sha256 $h"; fi
`;

interface Target {
  remote: Remote;
  sender?: { identity: string; knownHosts: string };
}

/** The command that makes host `i` of `ts` receive and feed its subtree (children 2i+1, 2i+2). */
function treeCommand(ts: Target[], i: number, sha: string): string {
  const kids = [2 * i + 1, 2 * i + 2].filter((k) => k < ts.length);
  const s = ts[i]!.sender;
  const argv = ['sh', TREE, `${DEST}.tree-tmp`, DEST, sha, s?.identity ?? '-', s?.knownHosts ?? '-', ts[i]!.remote.host.name, String(kids.length)];
  for (const k of kids) {
    const h = ts[k]!.remote.host;
    argv.push(`${h.user ? `${h.user}@` : ''}${h.privateAddress ?? h.address}`, String(h.port ?? 22), treeCommand(ts, k, sha));
  }
  return argv.map(quoteArg).join(' ');
}

async function sendTree(remotes: Remote[], file: string, sha: string, key: DeployKey, knownHosts: string, signal: AbortSignal): Promise<void> {
  const ts: Target[] = await Promise.all(
    remotes.map(async (r, i) => {
      await r.exec(['sh', '-c', 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1"', 'sh', TREE], { stdin: TREE_RECEIVER, signal });
      if (i > 0) await authorizeDeployKey(r, key, signal);
      const hasKids = 2 * i + 1 < remotes.length;
      return { remote: r, ...(hasKids ? { sender: await prepareSender(r, { key, knownHosts }, signal) } : {}) };
    }),
  );
  const head = ts[0]!.remote.spawn(['sh', '-c', treeCommand(ts, 0, sha)], { signal, allowFailure: true });
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    head.write(chunk as Buffer);
    await head.drain();
  }
  head.end();
  const r = await head.result;
  const ok = new Set([...r.stdout.matchAll(/^ok (\S+)$/gm)].map((m) => m[1]));
  const missing = remotes.filter((x) => !ok.has(x.host.name)).map((x) => x.host.name);
  if (missing.length) throw new Error(`tree: no ok from ${missing.join(', ')}: ${r.stdout.trim().slice(0, 400)} ${r.stderr.trim().slice(-300)}`);
}

/** Every host holds the file with its digest (else throws: no time is kept). */
async function check(remotes: Remote[], sha: string, what: string): Promise<void> {
  await Promise.all(
    remotes.map(async (r) => {
      const got = (await r.exec(['sh', '-c', 'sha256sum < "$1" | cut -c1-64', 'sh', DEST])).stdout.trim();
      if (got !== sha) throw new Error(`${what}: ${r.host.name} holds sha256 ${got || '(nothing)'}, expected ${sha}`);
    }),
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const size = Math.round(args.sizeMiB * 1024 * 1024);
  const max = Math.max(...args.hosts);
  const work = mkdtempSync(join(tmpdir(), 'labrig-bench-broadcast-'));
  chmodSync(work, 0o755);
  const file = join(work, 'payload.bin');
  const out = createWriteStream(file);
  for (let left = size; left > 0; left -= 1 << 20) if (!out.write(randomBytes(Math.min(left, 1 << 20)))) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
  const tbDir = join(work, 'testbed');
  mkdirSync(tbDir, { recursive: true });
  console.log(`${args.sizeMiB} MiB to ${args.hosts.join('/')} hosts behind a ${args.rate} uplink; modes ${args.modes.join(', ')}; starting ${max} testbed hosts ...`);
  let tb: TestbedState | undefined;
  const pool = new SshPool({ knownHostsFile: join(work, 'known_hosts'), sshConfigFile: false });
  try {
    tb = await up({ dir: tbDir, hosts: max, login: true, hostsBehindLogin: max, addressBase: '127.0.153.0', port: 2580, uplink: args.rate });
    const jump = toHost(tb.login!);
    const all = await Promise.all(tb.hosts.map((h) => pool.connect(toHost(h, { jump }))));
    const key = ensureDeployKey(work, 'bench-broadcast');
    const knownHosts = readFileSync(tb.knownHostsFile, 'utf8');
    const signal = new AbortController().signal;
    setMaxListeners(0, signal);
    const rows: { mode: Mode; n: number; ms: number[]; upMiB: number[] }[] = [];
    for (const n of args.hosts) {
      const remotes = all.slice(0, n);
      for (const mode of args.modes) {
        const row = { mode, n, ms: [] as number[], upMiB: [] as number[] };
        for (let i = 0; i < args.repeats; i++) {
          await Promise.all(remotes.map((r) => r.exec(['rm', '-f', '--', DEST], { signal })));
          const before = await uplinkBytes(tb.netns!);
          const t0 = performance.now();
          if (mode === 'ssh') {
            await Promise.all(
              remotes.map(async (r) => {
                const x = await r.putFile(file, DEST, { signal });
                if (!x.transferred || x.sha256 !== sha) throw new Error(`ssh: ${r.host.name}: ${JSON.stringify(x)}`);
              }),
            );
          } else if (mode === 'chain') {
            const r = await sendChain({ localPath: file, sha256: sha, dest: DEST, mode: 0o644, hosts: remotes, key, knownHosts, signal });
            const bad = r.results.filter((x) => x.status !== 'ok');
            if (bad.length) throw new Error(`chain: ${JSON.stringify(bad)}`);
          } else {
            await sendTree(remotes, file, sha, key, knownHosts, signal);
          }
          const ms = performance.now() - t0;
          const up = (await uplinkBytes(tb.netns!)) - before;
          await check(remotes, sha, `${mode} to ${n}`);
          row.ms.push(ms);
          row.upMiB.push(up / 1024 / 1024);
          console.log(`  ${mode} to ${n} host(s): ${(ms / 1000).toFixed(1)} s, ${(up / 1024 / 1024).toFixed(1)} MiB through the uplink (every copy verified)`);
        }
        rows.push(row);
      }
    }
    console.log(machineLine(max, args.repeats));
    const one = (mode: Mode) => rows.find((r) => r.mode === mode && r.n === Math.min(...args.hosts));
    console.log(`| ${args.sizeMiB} MiB, ${args.rate} uplink | hosts | median s | × its 1-host time | MiB through the uplink |\n| --- | ---: | ---: | ---: | ---: |`);
    for (const r of rows) {
      const base = one(r.mode);
      const ratio = base ? median(r.ms) / median(base.ms) : NaN;
      console.log(`| ${r.mode} | ${r.n} | ${(median(r.ms) / 1000).toFixed(1)} | ${ratio.toFixed(2)} | ${median(r.upMiB).toFixed(0)} |`);
    }
  } finally {
    await pool.close();
    if (tb) await down(tbDir);
    if (!args.keep) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
