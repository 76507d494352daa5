/** `status`: per host, is the sshd alive and does its port answer; plus the services. */
import { probe, sshBanner, type ProbeResult } from './probe.js';
import { mapLimit } from './pool.js';
import { sshdPid } from './sshd.js';
import { allHosts, readState } from './state.js';
import type { TestbedState } from './types.js';
import path from 'node:path';

export interface HostStatus {
  name: string;
  address: string;
  port: number;
  user: string;
  netns?: string;
  behindLogin?: boolean;
  pid?: number;
  alive: boolean;
  /** What a TCP connect to address:port gave. */
  answer: ProbeResult;
  /** The sshd sent its SSH banner within a second (false when frozen, even though TCP connects). */
  banner: boolean;
  /** alive, the port answers and the banner came. */
  ok: boolean;
}

export interface TestbedStatus {
  dir: string;
  up: boolean;
  hosts: HostStatus[];
  services: Pick<TestbedState, 's3' | 'registry' | 'slurm'>;
  /** Every host ok. */
  ok: boolean;
}

export async function status(dir: string): Promise<TestbedStatus> {
  const abs = path.resolve(dir);
  const state = await readState(abs);
  if (!state) return { dir: abs, up: false, hosts: [], services: {}, ok: false };
  const hosts = await mapLimit(allHosts(state), 16, async (h): Promise<HostStatus> => {
    const pid = await sshdPid(h);
    const answer = await probe(h.address, h.port, h.netns, 1000);
    const banner = answer === 'open' ? (await sshBanner(h.address, h.port, h.netns, 1000)) !== undefined : false;
    const s: HostStatus = {
      name: h.name,
      address: h.address,
      port: h.port,
      user: h.user,
      alive: pid !== undefined,
      answer,
      banner,
      ok: pid !== undefined && answer === 'open' && banner,
    };
    if (pid !== undefined) s.pid = pid;
    if (h.netns) s.netns = h.netns;
    if (h.behindLogin) s.behindLogin = true;
    return s;
  });
  const services: TestbedStatus['services'] = {};
  if (state.s3) services.s3 = state.s3;
  if (state.registry) services.registry = state.registry;
  if (state.slurm) services.slurm = state.slurm;
  return { dir: abs, up: true, hosts, services, ok: hosts.every((h) => h.ok) };
}
