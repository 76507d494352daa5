/**
 * Waiting until every device of the deployment is `active` with its address assigned: one list
 * request per poll (not one per device, which rate limits punish), a progress line when a state
 * changes or every 30 s, a time limit, and an early end when a device fails or disappears.
 */
import { Aborted, sleep } from '@labrig/core';
import { hostnamePrefixOf, type EquinixConfig } from './config.js';
import { listDeploymentDevices, type DeploymentDevice } from './deployment.js';
import { DevicesNotActive } from './errors.js';
import type { MetalClient } from './metal/client.js';
import { ipv4Of } from './metal/types.js';
import { hostnameOf } from './naming.js';
import { formatElapsed, type Report } from './progress.js';

export interface WaitActiveOptions {
  timeoutMs: number;
  intervalMs: number;
  report: Report;
  /** Named in error hints (where the created devices are recorded). */
  stateFile: string;
  signal?: AbortSignal;
  /** Quiet polls still print a line this often. Default 30 s. */
  heartbeatMs?: number;
}

/** The deployment's devices 0..count-1 once all are active and reachable by address; DevicesNotActive otherwise. */
export async function waitUntilActive(client: MetalClient, cfg: EquinixConfig, o: WaitActiveOptions): Promise<DeploymentDevice[]> {
  const started = Date.now();
  const heartbeat = o.heartbeatMs ?? 30_000;
  let lastSummary = '';
  let lastReport = 0;
  for (;;) {
    const devices = (await listDeploymentDevices(client, cfg)).filter((d) => d.index < cfg.devices.count);
    const states: Record<string, string> = {};
    for (let i = 0; i < cfg.devices.count; i++) {
      const d = devices.find((x) => x.index === i);
      const hostname = hostnameOf(hostnamePrefixOf(cfg), i);
      if (!d) states[hostname] = 'missing';
      else states[hostname] = d.device.state === 'active' && !ipv4Of(d.device, cfg.login.network) ? `active, no ${cfg.login.network} IPv4 yet` : d.device.state;
    }
    const notReady = Object.fromEntries(Object.entries(states).filter(([, s]) => s !== 'active'));
    const failed = Object.fromEntries(Object.entries(notReady).filter(([, s]) => s === 'failed' || s === 'missing'));
    if (Object.keys(failed).length > 0) {
      throw new DevicesNotActive('devices failed to provision or were deleted meanwhile', failed, { stateFile: o.stateFile });
    }
    const elapsed = Date.now() - started;
    if (Object.keys(notReady).length === 0) {
      o.report(`all ${cfg.devices.count} device(s) active (${formatElapsed(elapsed)})`);
      return devices;
    }
    const summary = `${cfg.devices.count - Object.keys(notReady).length}/${cfg.devices.count} active; ${Object.entries(notReady)
      .map(([h, s]) => `${h} ${s}`)
      .join(', ')}`;
    if (summary !== lastSummary || Date.now() - lastReport >= heartbeat) {
      o.report(`waiting for active: ${summary} (${formatElapsed(elapsed)} of ${formatElapsed(o.timeoutMs)})`);
      lastSummary = summary;
      lastReport = Date.now();
    }
    if (elapsed >= o.timeoutMs) {
      throw new DevicesNotActive('devices did not become active', notReady, { timeoutMs: o.timeoutMs, stateFile: o.stateFile });
    }
    if (!(await sleep(Math.min(o.intervalMs, Math.max(0, o.timeoutMs - elapsed)), o.signal))) throw new Aborted('interrupted while waiting for devices');
  }
}
