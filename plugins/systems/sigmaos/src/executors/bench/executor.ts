/**
 * bench: run a benchmark command on host i (in the clone, output to /tmp/bench.out), then collect
 * the output and a tarball of the perf folder into results/<system>/<run>/ with a SHA256SUMS file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { OptionError, digestFile } from '@labrig/core';
import { planExecutor, type CommonOptions } from '@labrig/system-kit';
import { clusterHosts, sigmaos, type SigmaosConfig } from '../../config.js';
import { benchPlan, benchTarball } from '../../plan.js';

export interface BenchOptions extends CommonOptions {
  cmd: string;
  host?: number;
  name?: string;
  n?: number;
}

function hostOf(hosts: { name: string }[], i: number) {
  const h = hosts[i];
  if (!h) throw new OptionError('host', i, `an index from 0 to ${hosts.length - 1} (${hosts.map((x) => x.name).join(', ')})`);
  return h;
}

export default planExecutor<SigmaosConfig, BenchOptions>(
  sigmaos,
  'bench',
  (sys, o) => {
    if (!o.cmd) throw new OptionError('cmd', o.cmd, 'the benchmark command');
    const hosts = clusterHosts(sys.config, sys.inventory, sys.file, o.n);
    return benchPlan(sys, hostOf(hosts, o.host ?? 0) as (typeof hosts)[number], o.cmd);
  },
  {
    printOutputs: true,
    after: async (sys, run, o) => {
      const hosts = clusterHosts(sys.config, sys.inventory, sys.file, o.n);
      const host = hostOf(hosts, o.host ?? 0) as (typeof hosts)[number];
      const dir = join(sys.root, 'results', sys.name, o.name ?? run.id);
      mkdirSync(dir, { recursive: true });
      const { platform, cfg, ctx } = sys.platform;
      const connector = platform.createConnector(cfg, ctx);
      const files: [string, string][] = [
        [sys.config.bench.output, 'bench.out'],
        [benchTarball(sys.config), 'sigmaos-perf.tar.gz'],
      ];
      const sums: string[] = [];
      try {
        const remote = await connector.connect(host);
        for (const [from, to] of files) {
          await remote.getFile(from, join(dir, to));
          const d = await digestFile(join(dir, to));
          sums.push(`${d.sha256}  ${to}`);
        }
      } finally {
        await connector.close();
      }
      writeFileSync(join(dir, 'SHA256SUMS'), `${sums.join('\n')}\n`);
      writeFileSync(join(dir, 'run.json'), `${JSON.stringify({ system: sys.name, host: host.name, cmd: o.cmd, run: run.id, platform: sys.platform.name, files: sums }, null, 2)}\n`);
      console.log(`✔ collected ${files.length} files from ${host.name} into ${relative(sys.root, dir)}`);
      return true;
    },
  },
);
