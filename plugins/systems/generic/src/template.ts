/**
 * `{token}` expansion in argv elements (never in shell text): each element stays one argument.
 * Tokens: {system} {dir} {out} {host.name} {host.address} {host.privateAddress} {host.index}
 * {role.<r>.addresses} (comma-separated private addresses of role r's hosts),
 * {role.<r>.endpoints:<port>} (address:port, comma-separated), and in tasks {param.<name>}
 * (the task's params, or an experiment run's) and {run.id} {run.dir} (experiment runs only). `{{` and `}}` are literal braces.
 */
import type { Host } from '@labrig/core';
import { ConfigError } from '@labrig/core';

export interface TemplateContext {
  system: string;
  dir?: string;
  out?: string;
  host?: Host;
  /** Index of the host within its role. */
  index?: number;
  roles?: Record<string, Host[]>;
  /** A task's parameters ({param.<name>}): its defaults, overridden by an experiment run's. */
  params?: Record<string, string | number | boolean>;
  /** The experiment run this command belongs to ({run.id}, {run.dir}: its folder on the host). */
  run?: { id: string; dir: string };
}

const addr = (h: Host): string => h.privateAddress ?? h.address;

function lookup(token: string, ctx: TemplateContext): string | undefined {
  switch (token) {
    case 'system':
      return ctx.system;
    case 'dir':
      return ctx.dir;
    case 'out':
      return ctx.out;
    case 'host.name':
      return ctx.host?.name;
    case 'host.address':
      return ctx.host?.address;
    case 'host.privateAddress':
      return ctx.host ? addr(ctx.host) : undefined;
    case 'host.index':
      return ctx.index === undefined ? undefined : String(ctx.index);
  }
  if (token.startsWith('param.')) {
    const v = ctx.params?.[token.slice('param.'.length)];
    return v === undefined ? undefined : String(v);
  }
  if (token === 'run.id') return ctx.run?.id;
  if (token === 'run.dir') return ctx.run?.dir;
  const m = /^role\.([a-z][a-z0-9-]*)\.(addresses|endpoints:(\d+))$/.exec(token);
  if (m && ctx.roles) {
    const hosts = ctx.roles[m[1]!];
    if (!hosts) return undefined;
    return m[3] ? hosts.map((h) => `${addr(h)}:${m[3]}`).join(',') : hosts.map(addr).join(',');
  }
  return undefined;
}

/** Expand one string. `where` names the field for errors (`file`, `roles.server.start[3]`). */
export function expand(text: string, ctx: TemplateContext, where: { file: string; field: string }): string {
  return text.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (whole, token: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const v = lookup(token ?? '', ctx);
    if (v === undefined) {
      throw new ConfigError(where.file, where.field, `unknown or unavailable token {${token}} here`, {
        hint: 'Tokens: {system} {dir} {out} (build only) {host.name} {host.address} {host.privateAddress} {host.index} {role.<r>.addresses} {role.<r>.endpoints:<port>} {param.<name>} (tasks) {run.id} {run.dir} (experiment runs); write {{ for a literal brace.',
      });
    }
    return v;
  });
}

export function expandArgv(argv: readonly string[], ctx: TemplateContext, where: { file: string; field: string }): string[] {
  return argv.map((a, i) => expand(a, ctx, { file: where.file, field: `${where.field}[${i}]` }));
}
