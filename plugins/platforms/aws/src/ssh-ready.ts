/**
 * "SSH answers": a running instance is usable once its sshd sends the SSH identification line
 * (`SSH-2.0-...`). A TCP connect alone is not enough (a security group or a booting kernel can
 * accept or hold the connection without sshd behind it); logging in is not needed yet (cloud-init
 * may still be writing authorized_keys: the prepare target waits for it). Polled per host with a
 * timeout, never a fixed sleep.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Host } from '@labrig/core';
import { AwsWaitTimeout } from './errors.js';
import { formatElapsed, type Progress } from './progress.js';

/** The SSH identification line of address:port, or why there is none. */
export function readSshBanner(address: string, port: number, timeoutMs: number): Promise<{ banner?: string; error?: string }> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: address, port });
    let data = '';
    const finish = (r: { banner?: string; error?: string }) => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on('error', () => undefined);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ error: data === '' ? 'no answer' : 'no SSH identification line' }), timeoutMs);
    sock.setEncoding('latin1');
    sock.on('data', (chunk: string) => {
      data += chunk;
      // RFC 4253 4.2: other lines may come before the one starting with "SSH-".
      for (const line of data.split(/\r?\n/).slice(0, -1)) if (line.startsWith('SSH-')) return finish({ banner: line.trim() });
      if (data.length > 8192) finish({ error: 'no SSH identification line' });
    });
    sock.once('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }));
    sock.once('end', () => finish({ error: 'connection closed' }));
  });
}

export interface SshWaitOptions {
  timeoutMs: number;
  intervalMs: number;
  progress: Progress;
  file: string;
  signal?: AbortSignal;
}

/** Until sshd answers on every host (all probed in parallel each round). */
export async function waitForSsh(hosts: Host[], o: SshWaitOptions): Promise<void> {
  const started = Date.now();
  const pending = new Map(hosts.map((h) => [h.name, h]));
  const lastError = new Map<string, string>();
  let last = '';
  while (pending.size > 0) {
    o.signal?.throwIfAborted();
    const probeMs = Math.max(500, Math.min(5000, o.timeoutMs - (Date.now() - started)));
    await Promise.all(
      [...pending.values()].map(async (h) => {
        const r = await readSshBanner(h.address, h.port ?? 22, probeMs);
        if (r.banner) pending.delete(h.name);
        else lastError.set(h.name, r.error ?? 'no answer');
      }),
    );
    const line = `SSH answers on ${hosts.length - pending.size}/${hosts.length}${pending.size ? ` (waiting for ${[...pending.keys()].join(', ')})` : ''}`;
    if (line !== last) o.progress(`${line} after ${formatElapsed(Date.now() - started)}`);
    last = line;
    if (pending.size === 0) return;
    if (Date.now() - started >= o.timeoutMs) {
      throw new AwsWaitTimeout(
        'answering SSH',
        o.timeoutMs,
        [...pending.values()].map((h) => `${h.name} (${h.address}:${h.port ?? 22}): ${lastError.get(h.name) ?? 'no answer'}`),
        `Check that the security groups let this machine reach port ${hosts[0]?.port ?? 22} and that the AMI runs sshd; raise wait.ssh in ${o.file} for slow boots. Provision again resumes.`,
      );
    }
    await sleep(Math.min(o.intervalMs, Math.max(0, o.timeoutMs - (Date.now() - started))), undefined, o.signal ? { signal: o.signal } : {});
  }
}
