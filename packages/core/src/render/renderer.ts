/** Where the engine's events go for humans or machines. */
import type { RunEvent } from '../events.js';

export interface Renderer {
  onEvent(e: RunEvent): void;
  /** The run is over: finish drawing (the engine awaits it). */
  close(): void | Promise<void>;
}

/** Several renderers as one. */
export function combineRenderers(...rs: Renderer[]): Renderer {
  return {
    onEvent: (e) => {
      for (const r of rs) r.onEvent(e);
    },
    close: async () => {
      for (const r of rs) await r.close();
    },
  };
}

/** A renderer that collects events (tests, embedding). */
export function createMemoryRenderer(): Renderer & { events: RunEvent[] } {
  const events: RunEvent[] = [];
  return { events, onEvent: (e) => void events.push(e), close: () => undefined };
}

/** Drops everything. */
export const silentRenderer: Renderer = { onEvent: () => undefined, close: () => undefined };
