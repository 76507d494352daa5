/**
 * `{token}` expansion in argv elements (never in shell text): each element stays one argument.
 * Tokens: {system} {dir} {out} {host.name} {host.address} {host.privateAddress} {host.index}
 * {role.<r>.addresses} (comma-separated private addresses of role r's hosts) and
 * {role.<r>.endpoints:<port>} (address:port, comma-separated). `{{` and `}}` are literal braces.
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
        hint: 'Tokens: {system} {dir} {out} (build only) {host.name} {host.address} {host.privateAddress} {host.index} {role.<r>.addresses} {role.<r>.endpoints:<port>}; write {{ for a literal brace.',
      });
    }
    return v;
  });
}

export function expandArgv(argv: readonly string[], ctx: TemplateContext, where: { file: string; field: string }): string[] {
  return argv.map((a, i) => expand(a, ctx, { file: where.file, field: `${where.field}[${i}]` }));
}
