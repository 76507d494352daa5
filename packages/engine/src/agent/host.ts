/**
 * What makes one process host many commands (the labrig agent): process.stdout and
 * process.stderr (their writes, isTTY, columns, rows), process.env and process.cwd() answer for
 * the command whose code is running (core's command scope, @labrig/core scope.ts), and for the
 * agent itself outside any command. Installed once, before the first command.
 *
 * Executors are written for a process of their own: they print with console.log, read secrets
 * from process.env, hand process.env to child processes, resolve paths against process.cwd(), and
 * ask process.stdout.isTTY how to render. Each of those now sees its own command's values.
 */
import { currentScope, type ScopeStream } from '@labrig/core';

let installed = false;

function routeStream(name: 'stdout' | 'stderr'): void {
  const stream = process[name] as unknown as Record<string, unknown> & { write: ScopeStream['write'] };
  const own = stream.write;
  stream.write = function routedWrite(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    const scope = currentScope();
    if (scope) return scope[name].write(chunk, encoding, cb);
    return own.call(stream, chunk, encoding, cb);
  };
  for (const prop of ['isTTY', 'columns', 'rows'] as const) {
    let base = stream[prop];
    Object.defineProperty(stream, prop, {
      configurable: true,
      enumerable: true,
      get() {
        const scope = currentScope();
        return scope ? scope[name][prop] : base;
      },
      set(v: unknown) {
        base = v;
      },
    });
  }
}

function routeEnv(): void {
  const base = process.env;
  const envOf = (): Record<string, string | undefined> => currentScope()?.env ?? base;
  process.env = new Proxy({} as NodeJS.ProcessEnv, {
    get: (_t, k) => (typeof k === 'string' ? envOf()[k] : undefined),
    set: (_t, k, v) => {
      if (typeof k === 'string') envOf()[k] = String(v);
      return true;
    },
    has: (_t, k) => typeof k === 'string' && k in envOf(),
    deleteProperty: (_t, k) => {
      if (typeof k === 'string') delete envOf()[k];
      return true;
    },
    ownKeys: () => Object.keys(envOf()),
    getOwnPropertyDescriptor: (_t, k) => {
      const env = envOf();
      if (typeof k !== 'string' || !(k in env)) return undefined;
      return { value: env[k], writable: true, enumerable: true, configurable: true };
    },
  });
}

function routeCwd(): void {
  const own = process.cwd.bind(process);
  process.cwd = () => currentScope()?.cwd ?? own();
}

/** Install the routing (once per process). */
export function installCommandHost(): void {
  if (installed) return;
  installed = true;
  routeStream('stdout');
  routeStream('stderr');
  routeEnv();
  routeCwd();
}
