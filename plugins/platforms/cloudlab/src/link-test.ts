/**
 * The link test CloudLab users run first (a bad NIC or a rebooting top-of-rack switch cuts hosts
 * apart): every host probes every other host's cluster address, over TCP (connect to its SSH
 * port) or ICMP (one ping), all probes of a host at once. The result is a matrix from x to.
 */
import type { Connector, Host, RunResult, Step } from '@labrig/core';
import { CommandFailed, parseFailurePolicy, runSteps, type OutputMode, type Renderer } from '@labrig/core';

export const LINK_TEST = 'link-test';

export type LinkMethod = 'tcp' | 'ping';

export interface LinkTestOptions {
  method: LinkMethod;
  /** Per probe. */
  timeoutMs: number;
}

/** One probe from one host to another's cluster address. */
export interface LinkProbe {
  from: string;
  to: string;
  ok: boolean;
  ms: number;
  /** What failed (the probe's own message). */
  detail?: string;
}

export interface LinkMatrix {
  method: LinkMethod;
  /** Host names, in inventory order: rows and columns. */
  hosts: string[];
  /** Where each host was probed (`address:port`, or `address` for ping); absent: it has no cluster address. */
  targets: Record<string, string>;
  probes: LinkProbe[];
  /** Hosts whose own probes could not run (SSH failed), with why. */
  unreachable: Record<string, string>;
  /** Every probe ran and succeeded. */
  ok: boolean;
}

/**
 * $1 timeout for `timeout` (seconds, may be fractional), $2 whole seconds for ping -W, $3 method,
 * then (name, address, port) triples. One line per probe: name, exit status, ms, message.
 */
const PROBE_SCRIPT = `t=$1 w=$2 method=$3; shift 3
probe() {
  s=$(date +%s%N)
  if [ "$method" = ping ]; then out=$(ping -n -c 1 -W "$w" "$2" 2>&1); else out=$(timeout "$t" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>&1); fi
  rc=$?
  e=$(date +%s%N)
  [ "$rc" -eq 124 ] && out="no answer within $t s"
  printf '%s %s %s %s\\n' "$1" "$rc" $(( (e - s) / 1000000 )) "$(printf '%s' "$out" | tr '\\n' ' ' | cut -c1-200)"
}
while [ $# -ge 3 ]; do probe "$1" "$2" "$3" & shift 3; done
wait`;

/** `address:port` for tcp, `address` for ping. */
function targetOf(h: Host, method: LinkMethod): string | undefined {
  if (!h.privateAddress) return undefined;
  return method === 'tcp' ? `${h.privateAddress}:${h.port ?? 22}` : h.privateAddress;
}

/** Parse the probe lines of one host. */
export function parseProbeLines(from: string, text: string): LinkProbe[] {
  const probes: LinkProbe[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+) (\d+) (\d+) ?(.*)$/.exec(line);
    if (!m) continue;
    const ok = m[2] === '0';
    const detail = m[4]!.trim();
    probes.push({ from, to: m[1]!, ok, ms: Number(m[3]), ...(!ok ? { detail: detail || `exit ${m[2]}` } : {}) });
  }
  return probes;
}

/** The engine step: on each host, probe every other host that has a cluster address. */
export function linkTestStep(hosts: readonly Host[], o: LinkTestOptions): Step<LinkProbe[]> {
  const seconds = (o.timeoutMs / 1000).toString();
  const wholeSeconds = String(Math.max(1, Math.ceil(o.timeoutMs / 1000)));
  return {
    name: LINK_TEST,
    title: `link test (${o.method}, ${seconds} s per probe)`,
    timeoutMs: o.timeoutMs + 30_000,
    async run({ remote, host, signal }) {
      const triples = hosts.filter((h) => h.name !== host.name && h.privateAddress).flatMap((h) => [h.name, h.privateAddress!, String(h.port ?? 22)]);
      if (triples.length === 0) return [];
      const r = await remote.exec(['sh', '-c', PROBE_SCRIPT, 'sh', seconds, wholeSeconds, o.method, ...triples], { allowFailure: true, signal });
      if (r.exitCode !== 0) throw new CommandFailed(host.name, LINK_TEST, r);
      return parseProbeLines(host.name, r.stdout);
    },
  };
}

/** The matrix from a run's outputs and failures. */
export function toMatrix(hosts: readonly Host[], o: LinkTestOptions, run: RunResult): LinkMatrix {
  const targets: Record<string, string> = {};
  for (const h of hosts) {
    const t = targetOf(h, o.method);
    if (t) targets[h.name] = t;
  }
  const probes: LinkProbe[] = [];
  const unreachable: Record<string, string> = {};
  for (const r of run.results.filter((x) => x.step === LINK_TEST)) {
    if (r.status === 'ok') probes.push(...((r.output as LinkProbe[] | undefined) ?? []));
    else unreachable[r.host] = r.error?.message.split('\n')[0] ?? r.status;
  }
  const names = hosts.map((h) => h.name);
  const expected = names.filter((n) => !unreachable[n]).reduce((sum, n) => sum + names.filter((m) => m !== n && targets[m]).length, 0);
  const ok = Object.keys(unreachable).length === 0 && Object.keys(targets).length === names.length && probes.length === expected && probes.every((p) => p.ok);
  return { method: o.method, hosts: names, targets, probes, unreachable, ok };
}

export interface RunLinkTestArgs {
  root: string;
  hosts: Host[];
  connector: Connector;
  options: LinkTestOptions;
  concurrency?: number;
  output?: OutputMode | Renderer;
  signal?: AbortSignal;
}

/** Run the link test through the engine (journal and logs under .labrig/runs/) and build the matrix. */
export async function runLinkTest(a: RunLinkTestArgs): Promise<{ matrix: LinkMatrix; run: RunResult }> {
  const run = await runSteps([linkTestStep(a.hosts, a.options)], {
    root: a.root,
    hosts: a.hosts,
    connector: a.connector,
    title: LINK_TEST,
    failurePolicy: parseFailurePolicy('continue'),
    ...(a.concurrency ? { concurrency: a.concurrency } : {}),
    ...(a.output ? { output: a.output } : {}),
    ...(a.signal ? { signal: a.signal } : {}),
  });
  return { matrix: toMatrix(a.hosts, a.options, run), run };
}

/** The matrix as text: a row per source host (`ok`, `FAIL`, `?` unknown, `-` itself), then what failed. */
export function formatMatrix(m: LinkMatrix): string {
  const cell = (from: string, to: string): string => {
    if (from === to) return '-';
    if (!m.targets[to]) return 'n/a';
    if (m.unreachable[from]) return '?';
    const p = m.probes.find((x) => x.from === from && x.to === to);
    return p ? (p.ok ? 'ok' : 'FAIL') : '?';
  };
  const rows = [['from \\ to', ...m.hosts], ...m.hosts.map((from) => [from, ...m.hosts.map((to) => cell(from, to))])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  const good = m.probes.filter((p) => p.ok).length;
  const lines = [`link test (${m.method === 'tcp' ? 'TCP connect to the SSH port' : 'ping'} of each cluster address): ${good} of ${m.probes.length} probes ok`, ...table];
  for (const p of m.probes.filter((x) => !x.ok)) lines.push(`FAIL ${p.from} -> ${p.to} (${m.targets[p.to]}): ${p.detail ?? 'failed'}`);
  for (const [host, why] of Object.entries(m.unreachable)) lines.push(`?    ${host}: its probes did not run: ${why}`);
  for (const h of m.hosts.filter((n) => !m.targets[n])) lines.push(`n/a  ${h} has no cluster address: run the prepare target (cluster-address step) or check network.subnet`);
  return lines.join('\n');
}
