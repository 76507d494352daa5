/**
 * tools/testbed: bring the local testbed up or down, show its status and inventory, inject faults.
 *
 *   tools/testbed up --hosts N [--login --behind K [--uplink RATE]] [--s3] [--registry] [--slurm]
 *                    [--shared-user] [--dir D] [--address-base A] [--port P]
 *   tools/testbed down [--dir D]
 *   tools/testbed status [--dir D] [--json]
 *   tools/testbed hosts [--dir D] [--json]
 *   tools/testbed kill|freeze|thaw|restart|rotate-host-key HOST [--dir D]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LabrigError } from '@labrig/core';
import { down } from './down.js';
import { acceptedConnections, freeze, kill, restart, rotateHostKey, thaw } from './faults.js';
import { defaultDir } from './naming.js';
import { allHosts, loadState } from './state.js';
import { status } from './status.js';
import type { TestbedState } from './types.js';
import { up } from './up.js';

const USAGE = `usage: tools/testbed <command> [options]

commands:
  up --hosts N [--login [--behind K]] [--s3] [--registry] [--slurm]
     [--address-base A] [--port P]      start (or reshape) the testbed; idempotent
     [--uplink RATE]                    rate-limit the link into the login host's namespace
                                        (e.g. 20mbit: a laptop's uplink; hosts behind talk at full speed)
     [--shared-user]                    every host logs in as one user name (as on CloudLab),
                                        each host with its own clean home
  down                                  stop everything up started, remove its users
  status [--json]                       per host: sshd alive? port answers? plus services
  hosts [--json]                        the inventory (name, address, port, user, key)
  kill|freeze|thaw|restart|rotate-host-key HOST    fault injection on one host
  accepted HOST                         "Accepted publickey" count in HOST's sshd log

common options:
  --dir D       state directory (default <workspace root>/.labrig/testbed)
  -h, --help    this text`;

class UsageError extends Error {}

function intOption(name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name}: "${value}" is not a whole number`);
  return Number(value);
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

function inventoryRows(state: TestbedState): string[][] {
  return [
    ['NAME', 'ADDRESS', 'PORT', 'USER', 'VIA'],
    ...allHosts(state).map((h) => [h.name, h.address, String(h.port), h.user, h.jump ?? '']),
  ];
}

function summary(state: TestbedState): string {
  const lines = [
    `testbed up at ${state.dir}: ${state.hosts.length} host(s)` +
      (state.login ? `, login host ${state.login.address}:${state.login.port} with ${state.hosts.filter((h) => h.behindLogin).length} host(s) behind it` : '') +
      (state.netns?.uplink ? `, uplink into its namespace limited to ${state.netns.uplink} (${state.netns.vethRoot})` : ''),
    `  key:        ${state.identityFile}`,
    `  ssh config: ssh -F ${state.sshConfigFile} tb-0`,
  ];
  const first = state.hosts[0];
  if (first) lines.push(`  first:      ${first.user}@${first.address} -p ${first.port}${first.homeMount ? ' (the user of every host; each host has its own home)' : ''}`);
  if (state.s3) lines.push(`  s3:         ${state.s3.endpoint} (buckets: ${state.s3.buckets.join(', ') || 'none'})`);
  if (state.registry) lines.push(`  registry:   ${state.registry.url}`);
  if (state.slurm) lines.push(`  slurm:      cluster ${state.slurm.clusterName}, login ${state.slurm.loginHost}, SLURM_CONF=${state.slurm.confFile}`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    print(USAGE);
    return command ? 0 : 2;
  }
  const COMMANDS = ['up', 'down', 'status', 'hosts', 'kill', 'freeze', 'thaw', 'restart', 'rotate-host-key', 'accepted'];
  if (!COMMANDS.includes(command)) throw new UsageError(`unknown command "${command}" (commands: ${COMMANDS.join(', ')})`);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        dir: { type: 'string' },
        hosts: { type: 'string' },
        login: { type: 'boolean' },
        behind: { type: 'string' },
        uplink: { type: 'string' },
        s3: { type: 'boolean' },
        registry: { type: 'boolean' },
        slurm: { type: 'boolean' },
        'shared-user': { type: 'boolean' },
        'address-base': { type: 'string' },
        port: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    print(USAGE);
    return 0;
  }
  const dir = path.resolve(values.dir ?? defaultDir());

  switch (command) {
    case 'up': {
      if (values.hosts === undefined) throw new UsageError('up: --hosts N is required');
      const hosts = intOption('hosts', values.hosts) as number;
      const behind = intOption('behind', values.behind, 0);
      const port = intOption('port', values.port);
      const t0 = Date.now();
      let lastLine = 0;
      const state = await up(
        {
          dir,
          hosts,
          login: values.login ?? false,
          hostsBehindLogin: behind,
          ...(values.uplink !== undefined ? { uplink: values.uplink } : {}),
          s3: values.s3 ?? false,
          registry: values.registry ?? false,
          slurm: values.slurm ?? false,
          sharedUser: values['shared-user'] ?? false,
          ...(values['address-base'] !== undefined ? { addressBase: values['address-base'] } : {}),
          ...(port !== undefined ? { port } : {}),
        },
        {
          onProgress: (p) => {
            if (p.kind === 'message') print(p.message);
            else if (p.done === 0) print(`starting ${p.total} host(s)...`);
            else if (p.done === p.total || Date.now() - lastLine > 1000) {
              lastLine = Date.now();
              print(`  ${p.done}/${p.total} hosts up`);
            }
          },
        },
      );
      print(summary(state));
      print(`(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return 0;
    }
    case 'down': {
      const r = await down(dir);
      print(r.wasUp ? `testbed at ${dir} down: ${r.hosts} host(s) stopped, ${r.users} user(s) removed` : `no testbed up at ${dir}; nothing to do`);
      return 0;
    }
    case 'status': {
      const st = await status(dir);
      if (values.json) {
        print(JSON.stringify(st, null, 2));
      } else if (!st.up) {
        print(`no testbed up at ${dir} (run tools/testbed up first)`);
      } else {
        print(
          table([
            ['NAME', 'ADDRESS', 'PORT', 'PID', 'SSHD', 'PORT', 'BANNER'],
            ...st.hosts.map((h) => [
              h.name,
              h.address,
              String(h.port),
              h.pid ? String(h.pid) : '-',
              h.alive ? 'alive' : 'DEAD',
              h.answer,
              h.banner ? 'yes' : 'NO',
            ]),
          ]),
        );
        for (const [name, info] of Object.entries(st.services)) print(`${name}: ${JSON.stringify(info)}`);
        print(st.ok ? `all ${st.hosts.length} host(s) ok` : `${st.hosts.filter((h) => !h.ok).length} host(s) NOT ok`);
      }
      return st.up && st.ok ? 0 : 1;
    }
    case 'hosts': {
      const state = await loadState(dir);
      if (values.json) print(JSON.stringify(allHosts(state), null, 2));
      else print(table(inventoryRows(state)));
      return 0;
    }
    case 'kill':
    case 'freeze':
    case 'thaw':
    case 'restart':
    case 'rotate-host-key':
    case 'accepted': {
      const name = positionals[0];
      if (!name || positionals.length > 1) throw new UsageError(`${command}: exactly one HOST name expected`);
      const state = await loadState(dir);
      if (command === 'kill') await kill(state, name);
      else if (command === 'freeze') print(`stopped ${(await freeze(state, name)).length} process(es)`);
      else if (command === 'thaw') print(`continued ${(await thaw(state, name)).length} process(es)`);
      else if (command === 'restart') print(`sshd pid ${await restart(state, name)}`);
      else if (command === 'rotate-host-key') print(`new host key, sshd pid ${await rotateHostKey(state, name)}`);
      else print(String(await acceptedConnections(state, name)));
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

const isEntry = process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError) {
        process.stderr.write(`testbed: ${err.message}\n(tools/testbed --help for usage)\n`);
        process.exit(2);
      }
      // TestbedError and ServiceError: what went wrong, then what to do.
      if (err instanceof LabrigError) {
        process.stderr.write(`testbed: ${err.message}\nhint: ${err.hint}\n`);
        process.exit(1);
      }
      process.stderr.write(`testbed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
