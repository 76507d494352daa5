/**
 * The laptop's end of the coordinator's link: one request over one SSH channel running the
 * coordinator's own program as a byte bridge (`node <program> link engine.sock`, in its folder),
 * with the same frames as a labrig-run client sends to the local agent (@labrig/runner lib/link.mjs).
 * The token is the one in the coordinator's folder, read by the probe over the same SSH login.
 */
import type { Remote } from '@labrig/core';
import { LINK_PROTOCOL } from '@labrig/runner/link';
import type { CoordinatorProbe } from './remote-state.js';

export type LinkAnswer = Record<string, unknown> & { t: string };

/** Send `frame` to the live coordinator; its answer, or undefined when the link is not there (an older coordinator, no socket). */
export async function requestCoordinator(remote: Remote, dir: string, probe: CoordinatorProbe, frame: Record<string, unknown>, signal?: AbortSignal): Promise<LinkAnswer | undefined> {
  if (!probe.alive || !probe.program || !probe.token) return undefined;
  const stdin = `${JSON.stringify({ t: 'hello', protocol: LINK_PROTOCOL, token: probe.token })}\n${JSON.stringify(frame)}\n`;
  const r = await remote.exec([probe.program.node, probe.program.file, 'link', 'engine.sock'], { cwd: dir, stdin, allowFailure: true, ...(signal ? { signal } : {}) });
  if (r.exitCode !== 0) return undefined;
  const frames = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l): LinkAnswer[] => {
      try {
        const f = JSON.parse(l) as LinkAnswer;
        return f && typeof f.t === 'string' ? [f] : [];
      } catch {
        return [];
      }
    });
  if (frames[0]?.t !== 'welcome') return undefined;
  return frames[1];
}
