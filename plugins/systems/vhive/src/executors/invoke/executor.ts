/**
 * invoke: the invoker on the master at --rps for --duration seconds; its latency CSV(s) are fetched
 * into results/<system>/<run>/ (sha256-verified) with a manifest.json holding each file's sha256.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '@labrig/core';
import { OptionError } from '@labrig/core';
import { planExecutor, sha256, type ActionsOutput, type CommonOptions } from '@labrig/system-kit';
import { MASTER, vhiveSystem, type VhiveConfig } from '../../config.js';
import { planInvoke, remoteRunDir, type Sys } from '../../plan.js';

export interface InvokeOptions extends CommonOptions {
  rps?: number;
  duration?: number;
}

const runIds = new WeakMap<object, string>();
const runIdOf = (o: object): string => {
  let id = runIds.get(o);
  if (!id) runIds.set(o, (id = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')}-${randomBytes(3).toString('hex')}`));
  return id;
};

function settings(o: InvokeOptions): { rps: number; duration: number } {
  const rps = o.rps ?? 1;
  const duration = o.duration ?? 60;
  if (!(rps > 0)) throw new OptionError('rps', rps, 'a number of requests per second > 0');
  if (!Number.isInteger(duration) || duration < 1) throw new OptionError('duration', duration, 'whole seconds >= 1');
  return { rps, duration };
}

/** Fetch the run's CSVs from the master into results/<system>/<run>/, with their sha256 in manifest.json. */
async function collect(sys: Sys, run: RunResult, o: InvokeOptions): Promise<boolean> {
  const runId = runIdOf(o);
  const master = sys.roles[MASTER]![0]!;
  const out = run.results.find((r) => r.step === 'invoke' && r.host === master.name)?.output as ActionsOutput | undefined;
  const files = (out?.captured?.['files'] ?? '').split('\n').map((f) => f.trim()).filter(Boolean);
  if (files.length === 0) {
    console.error(`vhive: the invoker wrote no *lat.csv on ${master.name} (${remoteRunDir(runId)})`);
    return false;
  }
  const dir = join(sys.root, 'results', sys.name, runId);
  mkdirSync(dir, { recursive: true });
  const { platform, cfg, ctx } = sys.platform;
  const connector = platform.createConnector(cfg, ctx);
  const fetched: { name: string; bytes: number; sha256: string }[] = [];
  try {
    const remote = await connector.connect(master);
    for (const f of files) {
      const local = join(dir, f);
      await remote.getFile(`${remoteRunDir(runId)}/${f}`, local);
      const content = readFileSync(local);
      fetched.push({ name: f, bytes: content.length, sha256: sha256(content) });
    }
  } finally {
    await connector.close();
  }
  const { rps, duration } = settings(o);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ system: sys.name, target: 'invoke', run: runId, journal: run.id, host: master.name, rps, duration, files: fetched }, null, 2) + '\n');
  for (const f of fetched) console.log(`results/${sys.name}/${runId}/${f.name}  ${f.bytes} bytes  sha256 ${f.sha256}`);
  return true;
}

export default planExecutor<VhiveConfig, InvokeOptions>(vhiveSystem, 'invoke', (sys, o) => planInvoke(sys, { ...settings(o), runId: runIdOf(o) }), { after: collect });
