import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { up, down } from '@labrig/testbed';
import { SshPool } from '@labrig/ssh';
const dir = mkdtempSync(path.join(tmpdir(), 'labrig-ssh-smoke-'));
const state = await up({ dir, hosts: 1, addressBase: '127.0.20.0', port: 2320 });
const pool = new SshPool({ knownHostsFile: path.join(dir, 'kh'), sshConfigFile: false, agent: false, defaultIdentityFiles: [] });
try {
  const h = state.hosts[0]!;
  const r = await pool.connect({ name: h.name, address: h.address, port: h.port, user: h.user, identityFiles: [h.identityFile], roles: [], labels: {} });
  const conn = await (pool as any).getConnection((r as any).resolved);
  await new Promise<void>((res) => conn.client.exec('exec sleep 30', (err: any, ch: any) => {
    ch.on('exit', (...a: any[]) => console.log('exit', a));
    ch.on('close', () => { console.log('close'); res(); });
    ch.on('data', () => {});
    setTimeout(() => { console.log('signal', ch.signal('TERM')); ch.close(); }, 300);
  }));
  console.log((await r.exec(['sh', '-c', 'pgrep -u "$(id -u)" -x sleep || true'])).stdout);
  const p = r.exec(['sleep', '30'], { signal: AbortSignal.timeout(300) });
  await p.catch((e) => console.log('rejected', e.message));
  await new Promise((res) => setTimeout(res, 300));
  console.log('after abort', (await r.exec(['sh', '-c', 'pgrep -u "$(id -u)" -x sleep || true'])).stdout);
} finally {
  await pool.close();
  await down(dir);
}
