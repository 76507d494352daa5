/** The platform's S3 store, for push (upload) and store distribution (hosts fetch). */
import type { Remote } from '@labrig/core';
import { S3Store, fetchFromStore } from '@labrig/artifacts';
import type { PlanContext } from './interpret.js';

const stores = new WeakMap<PlanContext, Promise<S3Store | undefined>>();

/** The platform's store for this system (opened once per context: every fetch shares it). */
export function openStore(ctx: PlanContext): Promise<S3Store | undefined> {
  let store = stores.get(ctx);
  if (!store) stores.set(ctx, (store = createStore(ctx)));
  return store;
}

async function createStore(ctx: PlanContext): Promise<S3Store | undefined> {
  const { platform, cfg, ctx: pctx } = ctx.platform;
  const store = await platform.artifactStore?.(cfg, pctx);
  if (!store?.s3) return undefined;
  return new S3Store({ ...store.s3, prefix: store.s3.prefix ?? `labrig/${ctx.name}` });
}

/** Fetch one artifact onto a host from the store; returns the bytes fetched (0 when it was there). */
export async function fetchArtifact(
  ctx: PlanContext,
  remote: Remote,
  a: { key: string; remote: string; sha256: string; mode: number },
  signal: AbortSignal,
): Promise<number> {
  const store = await openStore(ctx);
  if (!store) throw new Error(`distribution = "store" but the platform ${ctx.platform.name} has no S3 store`);
  const url = await store.presignGet(a.key, 600);
  const dest = a.remote.startsWith('/') ? a.remote : `${await remoteHome(remote, signal)}/${a.remote}`;
  const r = await fetchFromStore(remote, { url, sha256: a.sha256, dest, mode: a.mode });
  return r.fetched ? 1 : 0;
}

/** The login user's home on a host (install folders are relative to it). */
export async function remoteHome(remote: Remote, signal?: AbortSignal): Promise<string> {
  const r = await remote.exec(['sh', '-c', 'printf %s "$HOME"'], { signal });
  if (!r.stdout.startsWith('/')) throw new Error(`${remote.host.name}: $HOME is not an absolute path (${JSON.stringify(r.stdout)})`);
  return r.stdout;
}
