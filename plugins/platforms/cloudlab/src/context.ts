/**
 * The platform context a config was opened with. `Platform.prepare(cfg)` gets no context, yet the
 * cluster-address step records what it finds under `ctx.stateDir`; the platform remembers the
 * context when `inventory` or `createConnector` receive it (every target calls one of them before
 * running steps). Keyed by the config object: nothing outlives it.
 */
import type { PlatformContext } from '@labrig/core';

const contexts = new WeakMap<object, PlatformContext>();

export function rememberContext(cfg: object, ctx: PlatformContext): void {
  contexts.set(cfg, ctx);
}

/** The context `cfg` was last used with, if any. */
export function contextOf(cfg: object): PlatformContext | undefined {
  return contexts.get(cfg);
}
