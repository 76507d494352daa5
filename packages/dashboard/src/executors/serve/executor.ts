/**
 * dashboard: serve the workspace's runs and experiments on 127.0.0.1 until the command is stopped
 * (Ctrl-C); the URL printed carries the one-time token.
 */
import { spawn } from 'node:child_process';
import type { ExecutorContext } from '@nx/devkit';
import { OptionError, interruptSignal, reportError } from '@labrig/core';
import { startDashboard } from '../../server.js';

export interface ServeOptions {
  /** Port on 127.0.0.1; 0 picks a free one. */
  port?: number;
  /** Open a browser on the page. */
  open?: boolean;
  platform?: string;
}

export function normalizeOptions(o: ServeOptions): { port: number; open: boolean } {
  const port = o.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new OptionError('port', o.port, 'a port number from 0 to 65535 (0: a free port)');
  return { port, open: o.open ?? false };
}

export default async function serveExecutor(o: ServeOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const opts = normalizeOptions(o);
    const d = await startDashboard({ root: context.root, port: opts.port });
    console.log(`labrig dashboard: ${d.url}`);
    console.log('read-only, on this machine only; stop it with Ctrl-C');
    if (opts.open) openBrowser(d.url);
    const stop = interruptSignal();
    await new Promise<void>((resolve) => {
      if (stop.aborted) return resolve();
      stop.addEventListener('abort', () => resolve(), { once: true });
    });
    await d.close();
    console.log('dashboard stopped');
    return { success: true };
  } catch (err) {
    return reportError(err);
  }
}

/** xdg-open (Linux) or open (macOS); nothing when neither exists (a headless machine). */
function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : 'xdg-open';
  const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => console.log(`(no browser opener here: open the URL yourself)`));
  child.unref();
}
