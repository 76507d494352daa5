/**
 * Waiting until SSH answers on every host: a real login through the platform's connector and
 * `true` run on the host (an open port alone is not enough: keys are installed late in boot).
 * Retried until a time limit; a changed host key is a hard error at once.
 */
import { Aborted, HostKeyMismatch, sleep, type Connector, type Host } from '@labrig/core';
import { SshNotReady } from './errors.js';
import { formatElapsed, type Report } from './progress.js';

export interface WaitSshOptions {
  timeoutMs: number;
  intervalMs: number;
  report: Report;
  signal?: AbortSignal;
}

/** Resolves when every host ran `true` over SSH; SshNotReady naming each host that did not. */
export async function waitForSsh(hosts: readonly Host[], connector: Connector, o: WaitSshOptions): Promise<void> {
  const started = Date.now();
  const results = await Promise.all(hosts.map((h) => waitForOne(h, connector, started, o)));
  const failures: Record<string, string> = {};
  hosts.forEach((h, i) => {
    const why = results[i];
    if (why !== undefined) failures[h.name] = why;
  });
  if (Object.keys(failures).length > 0) throw new SshNotReady(failures, o.timeoutMs);
}

/** undefined once `true` ran on `host`; the last failure when the time is up. */
async function waitForOne(host: Host, connector: Connector, started: number, o: WaitSshOptions): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      const remote = await connector.connect(host, o.signal);
      await remote.exec(['true'], o.signal ? { signal: o.signal } : {});
      o.report(`${host.name}: SSH answers on ${host.address}:${host.port ?? 22} (${formatElapsed(Date.now() - started)})`);
      return undefined;
    } catch (e) {
      if (e instanceof HostKeyMismatch) throw e;
      if (o.signal?.aborted) throw new Aborted('interrupted while waiting for SSH');
      const why = (e as Error).message.split('\n')[0] ?? String(e);
      const elapsed = Date.now() - started;
      if (elapsed >= o.timeoutMs) return why;
      if (attempt === 1) o.report(`${host.name}: waiting for SSH (${why})`);
      if (!(await sleep(Math.min(o.intervalMs, o.timeoutMs - elapsed), o.signal))) throw new Aborted('interrupted while waiting for SSH');
    }
  }
}
