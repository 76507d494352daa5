/**
 * Command scopes: what is "per process" for a labrig command run on its own becomes "per command"
 * inside the labrig agent (packages/runner/src/agent/), which runs several commands at once in one
 * long-lived process. A scope holds one command's secret registry, its interrupt signal, its
 * output streams and terminal facts, its environment and working folder; the modules that keep
 * process-wide state (./secrets.ts, ./interrupt.ts, ./output.ts) use the current scope when there
 * is one and the process's state otherwise, so a command behaves the same in both places.
 *
 * The scope travels with the command's asynchronous work (AsyncLocalStorage). The storage lives
 * on globalThis under a Symbol.for key: every executor bundle carries its own copy of core, and
 * all of them must see the one scope the agent entered.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { InterruptState } from './interrupt.js';

/** A stream a scope writes to (the agent sends it to the client); `write` is replaced by redaction. */
export interface ScopeStream {
  write: (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
  isTTY: boolean;
  columns?: number;
  rows?: number;
}

/** The interrupt state of a scope: the same as a process's (./interrupt.ts). */
export type ScopeInterrupt = InterruptState;

export interface CommandScope {
  /** For messages and the agent's journal. */
  id: string;
  /** The command's environment (the client's), seen through process.env inside the scope. */
  env: Record<string, string>;
  /** The client's working folder, seen through process.cwd() inside the scope. */
  cwd: string;
  stdout: ScopeStream;
  stderr: ScopeStream;
  interrupt: ScopeInterrupt;
  /** The command's own secret registry, filled by ./secrets.ts; dropped with the scope. */
  secrets?: unknown;
  /** Writes out what the scope's output redaction holds back. */
  flushOutput?: () => void;
}

const KEY = Symbol.for('@labrig/core:command-scope');

function storage(): AsyncLocalStorage<CommandScope> {
  const g = globalThis as { [KEY]?: AsyncLocalStorage<CommandScope> };
  return (g[KEY] ??= new AsyncLocalStorage<CommandScope>());
}

/** The scope of the command this code runs for, or undefined outside the agent. */
export function currentScope(): CommandScope | undefined {
  const g = globalThis as { [KEY]?: AsyncLocalStorage<CommandScope> };
  return g[KEY]?.getStore();
}

/** Run `fn` (and everything it starts) inside `scope`. */
export function runInScope<T>(scope: CommandScope, fn: () => T): T {
  return storage().run(scope, fn);
}

/**
 * Run `fn` outside any command scope: what it starts to outlive the command (a pooled SSH
 * connection, its keepalive timer) must not carry that command's scope, its environment included.
 */
export function outsideScope<T>(fn: () => T): T {
  const g = globalThis as { [KEY]?: AsyncLocalStorage<CommandScope> };
  const s = g[KEY];
  return s ? s.exit(fn) : fn();
}
