/**
 * `provision` on CloudLab: there is no API to create machines (experiments are made on the
 * portal), so it checks that every listed host answers over SSH and names the ones that do not.
 */
import type { Connector, Host } from '@labrig/core';
import { HostsNotAnswering } from './errors.js';

export interface AnswerCheck {
  host: string;
  ok: boolean;
  /** Why it did not answer. */
  reason?: string;
}

export interface AnswerOptions {
  /** Per host: connect and run `true`. */
  timeoutMs: number;
  /** Hosts checked at once. */
  concurrency: number;
  signal?: AbortSignal;
}

/** Connect to one host and run `true` within the timeout. */
async function checkOne(host: Host, connector: Connector, o: AnswerOptions): Promise<AnswerCheck> {
  const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)]) : AbortSignal.timeout(o.timeoutMs);
  try {
    const remote = await connector.connect(host, signal);
    const r = await remote.exec(['true'], { allowFailure: true, signal });
    return r.exitCode === 0 ? { host: host.name, ok: true } : { host: host.name, ok: false, reason: `\`true\` exited with ${r.exitCode}` };
  } catch (e) {
    o.signal?.throwIfAborted();
    const message = signal.aborted ? `no answer within ${Math.round(o.timeoutMs / 1000)} s` : ((e as Error).message ?? String(e));
    return { host: host.name, ok: false, reason: message.split('\n')[0]! };
  }
}

/** Every host's answer, in inventory order. */
export async function checkHostsAnswer(hosts: readonly Host[], connector: Connector, o: AnswerOptions): Promise<AnswerCheck[]> {
  const results: AnswerCheck[] = new Array(hosts.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < hosts.length) {
      const i = next++;
      results[i] = await checkOne(hosts[i]!, connector, o);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, hosts.length) }, worker));
  return results;
}

/** The hosts when all answer; HostsNotAnswering naming each silent host otherwise. */
export async function requireAnswers(hosts: Host[], connector: Connector, o: AnswerOptions): Promise<Host[]> {
  const checks = await checkHostsAnswer(hosts, connector, o);
  const down = checks.filter((c) => !c.ok).map((c) => ({ host: c.host, reason: c.reason ?? 'no answer' }));
  if (down.length > 0) throw new HostsNotAnswering(down, hosts.length);
  return hosts;
}
