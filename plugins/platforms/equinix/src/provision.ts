/**
 * provision: make the deployment have devices 0..count-1, active and answering SSH. Idempotent:
 * devices of the deployment that exist are reused and only missing indexes are created, one
 * request at a time, each recorded in the state file before it is sent and again (with its id)
 * right after it returns, so a failure part-way leaves a state from which teardown deletes every
 * device created so far.
 */
import { parseDuration, type Connector, type Host, type PlatformContext } from '@labrig/core';
import { hostnamePrefixOf, type EquinixConfig } from './config.js';
import { listDeploymentDevices } from './deployment.js';
import { MetalApiError, StateMismatch } from './errors.js';
import { hostsOf } from './inventory.js';
import type { MetalClient } from './metal/client.js';
import type { CreateDeviceRequest, MetalDevice } from './metal/types.js';
import { LABRIG_TAG, deploymentTag, hostnameOf } from './naming.js';
import type { Report } from './progress.js';
import { findByHostname, settlePending } from './records.js';
import { readState, shownStatePath, writeState, type DeploymentState, type DeviceRecord } from './state.js';
import { waitUntilActive } from './wait-active.js';
import { waitForSsh } from './wait-ssh.js';

export interface ProvisionDeps {
  client: MetalClient;
  /** Opens SSH connections to the devices (the platform's connector). */
  connector: Connector;
  report: Report;
}

/** The inventory once every device is active and answers SSH. */
export async function provisionDevices(cfg: EquinixConfig, ctx: PlatformContext, deps: ProvisionDeps): Promise<Host[]> {
  const { client, report } = deps;
  const stateFile = shownStatePath(ctx.root, ctx.stateDir);
  const state = openState(cfg, ctx.stateDir, stateFile);
  const live = await listDeploymentDevices(client, cfg);
  if (settlePending(state, live.map((d) => d.device))) writeState(ctx.stateDir, state);

  const recorded = new Set(state.devices.map((r) => r.id));
  for (const { index, device } of live) {
    if (index >= cfg.devices.count) report(`${device.hostname} is beyond [devices] count = ${cfg.devices.count}: left as it is`);
    else if (!recorded.has(device.id)) report(`${device.hostname}: reusing device ${device.id} (${device.state}); not created from this workspace, so teardown leaves it`);
    else report(`${device.hostname}: exists (${device.state})`);
  }
  const present = new Set(live.map((d) => d.index));
  for (let index = 0; index < cfg.devices.count; index++) {
    if (!present.has(index)) await createDevice(cfg, index, state, ctx.stateDir, deps);
  }

  const devices = await waitUntilActive(client, cfg, {
    timeoutMs: parseDuration(cfg.wait.active),
    intervalMs: parseDuration(cfg.wait.pollInterval),
    report,
    stateFile,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  const hosts = hostsOf(devices, cfg, ctx.root);
  if (recordAddresses(state, hosts, devices)) writeState(ctx.stateDir, state);
  await waitForSsh(hosts, deps.connector, {
    timeoutMs: parseDuration(cfg.wait.ssh),
    intervalMs: parseDuration(cfg.wait.pollInterval),
    report,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  return hosts;
}

/** The recorded state (checked to be this deployment's), or a new empty one. */
function openState(cfg: EquinixConfig, stateDir: string, stateFile: string): DeploymentState {
  const state = readState(stateDir);
  if (!state || state.devices.length === 0) return { version: 1, project: cfg.project, deployment: cfg.deployment, apiUrl: cfg.apiUrl, devices: [] };
  const recorded = `deployment ${state.deployment} in project ${state.project} at ${state.apiUrl}`;
  const configured = `deployment ${cfg.deployment} in project ${cfg.project} at ${cfg.apiUrl}`;
  if (recorded !== configured) throw new StateMismatch(stateFile, recorded, configured);
  return state;
}

/** Create device `index`: recorded without id, sent, recorded with its id; a refused request leaves no record. */
async function createDevice(cfg: EquinixConfig, index: number, state: DeploymentState, stateDir: string, deps: ProvisionDeps): Promise<MetalDevice> {
  const hostname = hostnameOf(hostnamePrefixOf(cfg), index);
  const tag = deploymentTag(cfg.deployment);
  const request: CreateDeviceRequest = {
    hostname,
    plan: cfg.devices.plan,
    metro: cfg.devices.metro,
    operating_system: cfg.devices.operatingSystem,
    billing_cycle: cfg.devices.billingCycle,
    tags: [...new Set([LABRIG_TAG, tag, ...cfg.devices.tags])],
  };
  const record: DeviceRecord = { index, hostname, requestedAt: new Date().toISOString() };
  state.devices.push(record);
  writeState(stateDir, state);
  deps.report(`${hostname}: creating (${cfg.devices.plan} in ${cfg.devices.metro}, ${cfg.devices.operatingSystem})`);
  try {
    const device = await deps.client.createDevice(cfg.project, request, async () =>
      findByHostname(await deps.client.listProjectDevices(cfg.project, { tag }), hostname, tag),
    );
    record.id = device.id;
    writeState(stateDir, state);
    deps.report(`${hostname}: created device ${device.id} (${device.state})`);
    return device;
  } catch (e) {
    if (e instanceof MetalApiError && e.method === 'POST') {
      // The API refused the request: nothing was created, nothing to release.
      state.devices = state.devices.filter((r) => r !== record);
      writeState(stateDir, state);
    }
    throw e;
  }
}

/** Remember where labrig connects to the devices it created (teardown forgets those host keys). */
function recordAddresses(state: DeploymentState, hosts: readonly Host[], devices: readonly { device: MetalDevice }[]): boolean {
  let changed = false;
  for (const r of state.devices) {
    const device = devices.find((d) => d.device.id === r.id)?.device;
    const host = device && hosts.find((h) => h.name === device.hostname);
    if (host && (r.address !== host.address || r.port !== host.port)) {
      r.address = host.address;
      if (host.port !== undefined) r.port = host.port;
      changed = true;
    }
  }
  return changed;
}
