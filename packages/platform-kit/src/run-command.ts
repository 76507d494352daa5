/** One shell command on a platform's hosts through the step engine (the `exec` target). */
import type { ExecResult, Host, PlatformInstance, RunResult } from '@labrig/core';
import { CommandFailed, OptionError, createRenderer, formatSummary, parseDuration, parseFailurePolicy, redactSecrets, runSteps, stringifyRedacted } from '@labrig/core';
import { filterHosts } from './common.js';

export interface RunCommandOptions {
  /** Shell command text, run with `sh -c` on each host. */
  cmd: string;
  /** Host names or globs. */
  hosts?: string[];
  roles?: string[];
  concurrency?: number;
  timeout?: string;
  retries?: number;
  failurePolicy?: string;
  output?: 'auto' | 'tty' | 'plain' | 'json';
}

export interface RunCommandResult {
  run: RunResult;
  /** Every host's command result, failed ones included (in inventory order). */
  outputs: Map<string, ExecResult>;
}

export async function runCommand(root: string, p: PlatformInstance, inventory: Host[], o: RunCommandOptions): Promise<RunCommandResult> {
  if (o.cmd.trim() === '') throw new OptionError('cmd', o.cmd, 'a non-empty shell command');
  const hosts = filterHosts(inventory, o.hosts, o.roles);
  if (hosts.length === 0) {
    throw new OptionError(o.hosts?.length ? 'hosts' : 'roles', (o.hosts?.length ? o.hosts : o.roles)?.join(','), `names/roles matching one of: ${inventory.map((h) => `${h.name} (${h.roles.join(',')})`).join(', ')}`);
  }
  const d = p.platform.runDefaults?.(p.cfg) ?? {};
  const connector = p.platform.createConnector(p.cfg, p.ctx);
  const outputs = new Map<string, ExecResult>();
  try {
    const run = await runSteps(
      [
        {
          name: 'exec',
          title: o.cmd,
          retries: o.retries ?? d.retries ?? 0,
          run: async ({ remote, host }): Promise<ExecResult> => {
            const r = await remote.shell(o.cmd, { allowFailure: true });
            outputs.set(host.name, r);
            if (r.exitCode !== 0) throw new CommandFailed(host.name, o.cmd, r);
            return r;
          },
        },
      ],
      {
        root,
        hosts,
        connector,
        title: `exec: ${o.cmd}`,
        concurrency: o.concurrency ?? d.concurrency ?? 32,
        ...(o.timeout !== undefined ? { timeoutMs: parseDuration(o.timeout) } : d.timeoutMs !== undefined ? { timeoutMs: d.timeoutMs } : {}),
        failurePolicy: parseFailurePolicy(o.failurePolicy ?? d.failurePolicy ?? 'fail-fast'),
        output: createRenderer(o.output ?? 'auto', { summary: false }),
      },
    );
    return { run, outputs: new Map(hosts.flatMap((h) => (outputs.has(h.name) ? [[h.name, outputs.get(h.name)!] as const] : []))) };
  } finally {
    await connector.close();
  }
}

/** Each host's stdout (and stderr, marked), prefixed by its name. */
export function formatOutputs(outputs: Map<string, ExecResult>): string {
  const lines: string[] = [];
  const add = (host: string, text: string, mark: string) => {
    if (text !== '') for (const line of text.replace(/\n$/, '').split('\n')) lines.push(`[${host}]${mark} ${line}`);
  };
  for (const [host, out] of outputs) {
    add(host, out.stdout, '');
    add(host, out.stderr, ' stderr:');
  }
  return lines.join('\n');
}

/**
 * After a command ran: each host's output, then the summary table (or one JSON line of outputs).
 * Secrets are redacted before serialisation (a secret holding `"` or `\` is escaped in JSON).
 */
export function printCommandResult(r: RunCommandResult, mode: 'auto' | 'tty' | 'plain' | 'json' = 'auto'): void {
  if (mode === 'json') {
    console.log(stringifyRedacted({ type: 'outputs', outputs: Object.fromEntries(r.outputs) }));
    return;
  }
  const text = redactSecrets(formatOutputs(r.outputs));
  if (text) console.log(`\n${text}`);
  console.log(`\n${formatSummary(r.run, { color: process.stdout.isTTY === true })}`);
}
