/**
 * cfiddle on an SSH cluster, end to end on the local platform: 4 real sshd testbed hosts
 * (127.0.74.1-4:2374; tb-0 is the head), the platform's registry, and fixtures for the tools that
 * cannot run here (docker, sudo, useradd, id, exportfs, modprobe, apt-get, chown, git: see
 * src/testing/fixtures/). The fixtures log every call and keep state, so a second `docker swarm
 * init` or `useradd` would fail as the real ones do. Asserted: the seed's order, the swarm token
 * and Jupyter token hand-offs (and that no journal holds them), idempotence of a second deploy,
 * a health timeout, stop, teardown (twice), and a deploy after teardown (the stamps of the old
 * swarm do not skip the labels or the stack).
 */
import { readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJournal, runsDir } from '@labrig/core';
import { down, up, type TestbedState } from '@labrig/testbed';
import deploy from './executors/deploy/executor.js';
import status from './executors/status/executor.js';
import stop from './executors/stop/executor.js';
import teardown from './executors/teardown/executor.js';
import { capture, ctxFor, fixtureCluster, ok } from './testing/workspace.js';

const BASE = '127.0.74.0';
const PORT = 2374;
let root: string;
let tb: string;
let fx: string;
let state: TestbedState;
const o = { platform: 'tb', output: 'plain' as const };

type Ev = Record<string, unknown>;
async function lastRun(title: string): Promise<{ dir: string; events: Ev[] }> {
  const base = runsDir(root);
  let best: { dir: string; events: Ev[]; time: string } | undefined;
  for (const id of readdirSync(base).filter((d) => /^\d{8}-/.test(d))) {
    const events = await readJournal(join(base, id));
    if (events[0]?.['title'] !== title) continue;
    const time = String(events[0]['time']);
    if (!best || time > best.time) best = { dir: join(base, id), events, time };
  }
  if (!best) throw new Error(`no run titled ${title}`);
  return best;
}
const statuses = (events: Ev[], step: string) => Object.fromEntries(events.filter((e) => e['type'] === 'host-end' && e['step'] === step).map((e) => [e['host'], e['status']]));
const allText = (dir: string): string =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => readFileSync(join(d.parentPath, d.name), 'utf8'))
    .join('\n');

/** The fixtures' call log as [host name, call] (the node is the testbed host's unix user). */
function calls(): [string, string][] {
  const byUser = new Map(state.hosts.map((h) => [h.user, h.name]));
  return readFileSync(join(fx, 'state/calls.log'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => l.split('\t') as [string, string])
    .map(([u, c]) => [byUser.get(u) ?? u, c]);
}
const first = (cs: [string, string][], re: RegExp, host?: string) => cs.findIndex(([h, c]) => (!host || h === host) && re.test(c));
const count = (cs: [string, string][], re: RegExp) => cs.filter(([, c]) => re.test(c)).length;
const exportsFile = () => readFileSync(join(fx, 'etc/exports'), 'utf8');

beforeAll(async () => {
  ({ root, tb, fx } = fixtureCluster({ prefix: 'cfiddle-cluster', base: BASE, port: PORT, registry: true, healthTimeout: '4s' }));
  delete process.env['CFIDDLE_JUPYTER_TOKEN'];
  state = await up({ dir: tb, hosts: 4, addressBase: BASE, port: PORT, registry: true });
}, 180_000);

afterAll(async () => {
  if (tb) await down(tb).catch(() => undefined);
  if (root) rmSync(root, { recursive: true, force: true });
  if (tb) rmSync(tb, { recursive: true, force: true });
});

describe('cfiddle on an SSH cluster (fixtures on testbed hosts)', () => {
  let jupyterToken = '';
  let swarmToken = '';

  it("first deploy: the seed's steps in order, tokens handed over and never journaled, the Jupyter URL printed once", async () => {
    const out = await ok(() => deploy(o, ctxFor(root)));
    const cs = calls();
    const workers = ['tb-1', 'tb-2', 'tb-3'];
    // The swarm: made on the head with its address, joined by every worker with the head's token.
    swarmToken = readFileSync(join(fx, 'state/swarm-token'), 'utf8').trim();
    expect(swarmToken).toMatch(/^SWMTKN-1-/);
    expect(cs.filter(([, c]) => /^docker swarm init/.test(c))).toEqual([['tb-0', 'docker swarm init --advertise-addr 127.0.74.1']]);
    for (const w of workers) expect(cs.filter(([h, c]) => h === w && c.startsWith('docker swarm join '))).toEqual([[w, `docker swarm join --token ${swarmToken} 127.0.74.1:2377`]]);
    // Labels: head_node on the head, worker + c<i> on each worker.
    const members = readFileSync(join(fx, 'state/members'), 'utf8');
    const idOf = (h: string) => new RegExp(`^${state.hosts.find((x) => x.name === h)!.user} (\\w+)`, 'm').exec(members)![1]!;
    expect(readFileSync(join(fx, 'state/labels', idOf('tb-0')), 'utf8')).toBe('slurm_role=head_node\n');
    expect(readFileSync(join(fx, 'state/labels', idOf('tb-2')), 'utf8')).toBe('slurm_role=worker\ncfiddle_worker=c2\n');
    // Users: cfiddle (uid 7000, docker group) on each worker only; test users on the head.
    expect(cs.filter(([, c]) => / cfiddle$/.test(c) && c.startsWith('useradd')).map(([h, c]) => `${h} ${c}`).sort()).toEqual(
      workers.map((w) => `${w} useradd -r -s /usr/sbin/nologin -u 7000 -G docker cfiddle`),
    );
    expect(count(cs, /^useradd .*test_user[12]$/)).toBe(2);
    // NFS: the two lines once, the line that was there kept; the munge key from the image.
    expect(exportsFile()).toBe(`/srv/data *(ro,no_subtree_check)\n${join(fx, 'home')} *(rw,no_subtree_check) # labrig:cfiddle\n${join(fx, 'etc/munge')} *(rw,no_subtree_check,no_root_squash) # labrig:cfiddle\n`);
    expect(readFileSync(join(fx, 'etc/munge/munge.key'), 'utf8')).toBe('fixture munge key of cfiddle-cluster:latest\n');
    // Images through the platform's registry (the testbed's), pulled and re-tagged on every worker.
    const reg = state.registry!.address;
    for (const i of ['cfiddle-cluster', 'cfiddle-user', 'cfiddle-sandbox']) {
      expect(first(cs, new RegExp(`^docker push ${reg}/${i}:latest$`), 'tb-0')).toBeGreaterThan(-1);
      for (const w of workers) expect(first(cs, new RegExp(`^docker tag ${reg}/${i}:latest ${i}:latest$`), w)).toBeGreaterThan(-1);
    }
    // The order of the seed.
    const order = [
      first(cs, /^docker swarm init/),
      first(cs, /^docker swarm join-token worker -q$/),
      first(cs, /^docker swarm join /),
      first(cs, /^docker node update --label-add slurm_role=head_node/),
      first(cs, /^useradd .* cfiddle$/),
      first(cs, /^exportfs -ra$/),
      first(cs, /^git clone .*cfiddle-cluster\.git/),
      first(cs, /^docker compose .* build/),
      first(cs, /^docker cp labrig-extract-munge/),
      first(cs, /^docker push /),
      first(cs, /^docker pull /),
      first(cs, /^docker stack deploy/),
      first(cs, /^docker service ls/),
      first(cs, /^docker exec \w+ sinfo$/),
      first(cs, /^docker exec \w+ salloc srun hostname$/),
    ];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // The Jupyter token: handed to `docker stack deploy` in its environment, printed once at the end.
    jupyterToken = readFileSync(join(root, '.labrig/state/cfiddle/cfiddle/jupyter-token'), 'utf8').trim();
    expect(jupyterToken).toMatch(/^[0-9a-f]{48}$/);
    expect(readFileSync(join(fx, 'state/stacks/slurm-stack/env'), 'utf8')).toBe(`HEAD_ADDR=127.0.74.1\nJUPYTER_TOKEN=${jupyterToken}\n`);
    expect(readFileSync(join(fx, 'state/stacks/slurm-stack/compose'), 'utf8')).toContain('"--NotebookApp.token=${JUPYTER_TOKEN}"');
    expect(out.split(jupyterToken).length - 1).toBe(1);
    expect(out).toContain(`Jupyter: http://127.0.74.1:8888/lab?token=${jupyterToken}`);
    expect(out).toMatch(/\[tb-0\] slurm-stack_c1-srv 1\/1/);
    // No journal or log of the run holds the Jupyter token or the swarm token (the head's own
    // join-token step log records that the command's output was withheld).
    const run = await lastRun('cfiddle:deploy');
    expect(statuses(run.events, 'swarm-init')).toEqual({ 'tb-0': 'ok' });
    expect(statuses(run.events, 'swarm-join')).toEqual({ 'tb-1': 'ok', 'tb-2': 'ok', 'tb-3': 'ok' });
    expect(allText(run.dir)).not.toContain(jupyterToken);
    expect(readFileSync(join(run.dir, 'journal.jsonl'), 'utf8')).not.toContain(swarmToken);
    expect(allText(run.dir)).not.toContain(swarmToken);
    expect(allText(join(run.dir, 'logs', 'tb-0'))).toContain('# stdout withheld: it holds a secret');
  }, 240_000);

  it('second deploy: no second swarm init or join, no duplicated exports line or user, same token', async () => {
    const before = calls().length;
    const out = await ok(() => deploy(o, ctxFor(root)));
    const cs = calls();
    const again = cs.slice(before);
    const run = await lastRun('cfiddle:deploy');
    expect(statuses(run.events, 'swarm-init')).toEqual({ 'tb-0': 'skipped' });
    expect(statuses(run.events, 'swarm-join')).toEqual({ 'tb-1': 'skipped', 'tb-2': 'skipped', 'tb-3': 'skipped' });
    expect(statuses(run.events, 'docker')).toEqual({ 'tb-0': 'skipped', 'tb-1': 'skipped', 'tb-2': 'skipped', 'tb-3': 'skipped' });
    expect(statuses(run.events, 'munge-key')).toEqual({ 'tb-0': 'skipped' });
    expect(statuses(run.events, 'jovyan-home')).toEqual({ 'tb-0': 'skipped' });
    for (const step of ['node-labels', 'test-users', 'nfs-exports', 'sources', 'images-build', 'images-push', 'stack-deploy']) expect([step, statuses(run.events, step)]).toEqual([step, { 'tb-0': 'skipped' }]);
    for (const step of ['cfiddle-user', 'images-pull']) expect([step, statuses(run.events, step)]).toEqual([step, { 'tb-1': 'skipped', 'tb-2': 'skipped', 'tb-3': 'skipped' }]);
    expect(count(again, /^docker (compose|push|pull|stack deploy) /)).toBe(0);
    expect(count(cs, /^docker swarm init/)).toBe(1);
    expect(count(again, /^docker swarm join /)).toBe(0);
    expect(count(again, /^useradd/)).toBe(0);
    expect(count(again, /^git clone/)).toBe(0);
    expect(count(again, /^docker node update/)).toBe(0);
    expect(exportsFile().split('\n').filter((l) => l.includes('# labrig:cfiddle'))).toHaveLength(2);
    expect(readFileSync(join(fx, 'state/stacks/slurm-stack/env'), 'utf8')).toContain(`JUPYTER_TOKEN=${jupyterToken}\n`);
    expect(out).toContain(`token=${jupyterToken}`);
    const st = await ok(() => status(o, ctxFor(root)));
    expect(st).toMatch(/\[tb-0\] service slurm-stack_userhost-srv 1\/1/);
  }, 240_000);

  it('a service that stays 0/1 is a TIMEOUT of the health step naming the head and what it waited for', async () => {
    writeFileSync(join(fx, 'state/fail/service-c2-srv'), '');
    try {
      const r = await capture(() => deploy(o, ctxFor(root)));
      expect(r.success).toBe(false);
      const end = (await lastRun('cfiddle:deploy')).events.find((e) => e['type'] === 'host-end' && e['step'] === 'health-services') as { error?: { code: string; message: string } };
      expect(end.error?.code).toBe('TIMEOUT');
      expect(end.error?.message).toMatch(/the services of slurm-stack on tb-0 was not ready within 4 s/);
      expect(r.out).not.toContain(jupyterToken);
    } finally {
      unlinkSync(join(fx, 'state/fail/service-c2-srv'));
    }
  }, 240_000);

  it('stop removes the stack and waits for its network; teardown leaves the swarm and removes only its exports lines (twice)', async () => {
    await ok(() => stop(o, ctxFor(root)));
    expect(readdirSync(join(fx, 'state/stacks'))).toEqual([]);
    await ok(() => teardown(o, ctxFor(root)));
    const run = await lastRun('cfiddle:teardown');
    expect(statuses(run.events, 'stack-rm')).toEqual({ 'tb-0': 'ok' });
    expect(statuses(run.events, 'swarm-leave-workers')).toEqual({ 'tb-1': 'ok', 'tb-2': 'ok', 'tb-3': 'ok' });
    expect(statuses(run.events, 'swarm-leave-head')).toEqual({ 'tb-0': 'ok' });
    expect(exportsFile()).toBe('/srv/data *(ro,no_subtree_check)\n');
    expect(readFileSync(join(fx, 'state/members'), 'utf8')).toBe('');
    const cs = calls();
    expect(first(cs, /^docker swarm leave --force$/, 'tb-1')).toBeLessThan(first(cs, /^docker swarm leave --force$/, 'tb-0'));
    await ok(() => teardown(o, ctxFor(root)));
    const again = await lastRun('cfiddle:teardown');
    expect(statuses(again.events, 'swarm-leave-head')).toEqual({ 'tb-0': 'skipped' });
    expect(statuses(again.events, 'nfs-unexport')).toEqual({ 'tb-0': 'skipped' });
  }, 240_000);

  it("deploy after teardown: the new swarm's nodes are labelled and the stack deployed again (the old stamps do not skip them)", async () => {
    await ok(() => deploy(o, ctxFor(root)));
    const run = await lastRun('cfiddle:deploy');
    expect(statuses(run.events, 'swarm-init')).toEqual({ 'tb-0': 'ok' });
    expect(statuses(run.events, 'node-labels')).toEqual({ 'tb-0': 'ok' });
    expect(statuses(run.events, 'nfs-exports')).toEqual({ 'tb-0': 'ok' });
    expect(statuses(run.events, 'stack-deploy')).toEqual({ 'tb-0': 'ok' });
    // The images are still there (and still the ones in the registry): not built or moved again.
    expect(statuses(run.events, 'images-build')).toEqual({ 'tb-0': 'skipped' });
    expect(statuses(run.events, 'images-pull')).toEqual({ 'tb-1': 'skipped', 'tb-2': 'skipped', 'tb-3': 'skipped' });
    const members = readFileSync(join(fx, 'state/members'), 'utf8');
    const id = new RegExp(`^${state.hosts.find((x) => x.name === 'tb-2')!.user} (\\w+)`, 'm').exec(members)![1]!;
    expect(readFileSync(join(fx, 'state/labels', id), 'utf8')).toBe('slurm_role=worker\ncfiddle_worker=c2\n');
    expect(exportsFile().split('\n').filter((l) => l.includes('# labrig:cfiddle'))).toHaveLength(2);
    await ok(() => teardown(o, ctxFor(root)));
  }, 240_000);
});
