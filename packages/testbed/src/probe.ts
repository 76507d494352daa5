/** Readiness probes: a TCP connect with a timeout, from here or from inside a network namespace. */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';

export type ProbeResult = 'open' | 'refused' | 'timeout' | 'error';

/** One TCP connect attempt to address:port from this (root) namespace. */
export function tcpProbe(address: string, port: number, timeoutMs = 1000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: address, port });
    const done = (r: ProbeResult) => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on('error', () => undefined);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    sock.once('connect', () => done('open'));
    sock.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'refused' : 'error'));
  });
}

/** One TCP connect attempt from inside network namespace `netns` (bash's /dev/tcp, argv only). */
export async function tcpProbeInNetns(netns: string, address: string, port: number, timeoutMs = 1000): Promise<ProbeResult> {
  const r = await execa(
    'ip',
    ['netns', 'exec', netns, 'bash', '-c', 'exec 3<>"/dev/tcp/$0/$1"', address, String(port)],
    { reject: false, timeout: timeoutMs, stdin: 'ignore' },
  );
  if (r.timedOut) return 'timeout';
  if (r.exitCode === 0) return 'open';
  return /refused/i.test(r.stderr) ? 'refused' : 'error';
}

export function probe(address: string, port: number, netns: string | undefined, timeoutMs = 1000): Promise<ProbeResult> {
  return netns ? tcpProbeInNetns(netns, address, port, timeoutMs) : tcpProbe(address, port, timeoutMs);
}

/** Polls until the port accepts a connection; false at the deadline. */
export async function waitForPort(address: string, port: number, netns: string | undefined, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await probe(address, port, netns, Math.min(1000, Math.max(100, deadline - Date.now())))) === 'open') return true;
    if (Date.now() >= deadline) return false;
    await sleep(25);
  }
}

/**
 * The SSH banner line (`SSH-2.0-...`) the server sends first, or undefined when none arrives in
 * time (a frozen sshd accepts TCP in the kernel but never speaks).
 */
export async function sshBanner(address: string, port: number, netns: string | undefined, timeoutMs = 1000): Promise<string | undefined> {
  if (netns) {
    const secs = Math.max(1, Math.round(timeoutMs / 1000));
    const r = await execa(
      'ip',
      ['netns', 'exec', netns, 'bash', '-c', 'exec 3<>"/dev/tcp/$0/$1" && IFS= read -r -t "$2" line <&3 && printf %s "$line"', address, String(port), String(secs)],
      { reject: false, timeout: timeoutMs + 2000, stdin: 'ignore' },
    );
    return r.exitCode === 0 && r.stdout.startsWith('SSH-') ? r.stdout.trim() : undefined;
  }
  return new Promise((resolve) => {
    const sock = net.connect({ host: address, port });
    let buf = '';
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on('error', () => undefined);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl >= 0) done(buf.startsWith('SSH-') ? buf.slice(0, nl).trim() : undefined);
    });
    sock.once('error', () => done(undefined));
    sock.once('close', () => done(undefined));
  });
}
