/**
 * A `servers.txt` as CloudLab users keep it (SigmaOS's `cloudlab/servers.txt`): one
 * `<name> <hostname>` per line, the first being the leader. Blank lines and `#` comments are
 * skipped. A bad line is one ConfigError naming the file and the line.
 */
import { ConfigError } from '@labrig/core';

export interface ServerLine {
  name: string;
  hostname: string;
  /** 1-based line number. */
  line: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The hosts of a servers.txt, in file order. `file` names it in errors. */
export function parseServersFile(text: string, file: string): ServerLine[] {
  const servers: ServerLine[] = [];
  const seen = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    const content = raw.replace(/#.*$/, '').trim();
    if (content === '') continue;
    const bad = (problem: string): never => {
      throw new ConfigError(file, '', problem, { line, hint: `Write each host as \`<name> <hostname>\` (e.g. \`node0 c220g5-110531.wisc.cloudlab.us\`) at line ${line} of ${file}.` });
    };
    const fields = content.split(/\s+/);
    if (fields.length !== 2) bad(`expected \`<name> <hostname>\`, got ${fields.length} field${fields.length === 1 ? '' : 's'}: "${content}"`);
    const [name, hostname] = fields as [string, string];
    if (!NAME.test(name)) bad(`"${name}" is not a usable host name (letters, digits, '.', '_', '-')`);
    if (!HOSTNAME.test(hostname)) bad(`"${hostname}" is not a host name or IPv4 address`);
    const earlier = seen.get(name);
    if (earlier !== undefined) bad(`host ${name} is listed twice (first at line ${earlier})`);
    seen.set(name, line);
    servers.push({ name, hostname, line });
  }
  if (servers.length === 0) {
    throw new ConfigError(file, '', 'lists no host', { hint: `Add one \`<name> <hostname>\` line per node to ${file} (first = leader).` });
  }
  return servers;
}
