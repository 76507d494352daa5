/** Names and addresses derived from the testbed dir and options: pure functions, no I/O. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { TestbedError } from './errors.js';

export const LOGIN_HOST_NAME = 'tb-login';
export const DEFAULT_ADDRESS_BASE = '127.0.1.0';
export const DEFAULT_PORT = 2222;

/** First 6 hex chars of sha256 of the absolute dir. */
export function testbedId(dir: string): string {
  return createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 6);
}

export function hostName(index: number): string {
  return `tb-${index}`;
}

/** Unix user of host `index` (-1: the login host). At most 32 chars. */
export function userName(id: string, index: number): string {
  return index < 0 ? `tb${id}login` : `tb${id}h${index}`;
}

/** The one unix user of every host when they share a user (`sharedUser`). At most 32 chars. */
export function sharedUserName(id: string): string {
  return `tb${id}user`;
}

export function netnsName(id: string): string {
  return `labrig-tb-${id}`;
}

export function vethNames(id: string): { vethRoot: string; vethNs: string } {
  // Interface names are at most 15 chars.
  return { vethRoot: `lrtb${id}r`, vethNs: `lrtb${id}n` };
}

export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Validates a loopback base address (the testbed never listens elsewhere in the root namespace). */
export function checkAddressBase(base: string, hosts: number): void {
  const n = parseIPv4(base);
  if (n === undefined) {
    throw new TestbedError('BAD_OPTION', `--address-base: "${base}" is not an IPv4 address (e.g. 127.0.1.0)`);
  }
  if (Math.floor(n / 2 ** 24) !== 127) {
    throw new TestbedError('BAD_OPTION', `--address-base: "${base}" is not a loopback address (127.0.0.0/8)`);
  }
  const last = n + hosts;
  if (Math.floor(last / 2 ** 24) !== 127 || last % 256 === 255) {
    throw new TestbedError('BAD_OPTION', `--address-base: "${base}" leaves no room for ${hosts} hosts inside 127.0.0.0/8`);
  }
}

/** Address of host `index`: base + index + 1. */
export function hostAddress(base: string, index: number): string {
  const n = parseIPv4(base);
  if (n === undefined) throw new TestbedError('BAD_OPTION', `address base "${base}" is not an IPv4 address`);
  return formatIPv4(n + index + 1);
}

/** A /30 on the veth pair, derived from the id: 10.(200..249).X.(4k) — root side .1, namespace side .2. */
export function vethSubnet(id: string, attempt = 0): { rootAddress: string; nsAddress: string; prefixLength: number } {
  const h = createHash('sha256').update(`${id}/${attempt}`).digest();
  const b1 = 200 + ((h[0] ?? 0) % 50);
  const b2 = h[1] ?? 0;
  const b3 = ((h[2] ?? 0) % 64) * 4;
  const net = ((10 * 256 + b1) * 256 + b2) * 256 + b3;
  return { rootAddress: formatIPv4(net + 1), nsAddress: formatIPv4(net + 2), prefixLength: 30 };
}

/** `<workspace root>/.labrig/testbed`, the root found by walking up from `from` to nx.json. */
export function defaultDir(from: string = process.cwd()): string {
  let cur = path.resolve(from);
  for (;;) {
    if (existsSync(path.join(cur, 'nx.json'))) return path.join(cur, '.labrig', 'testbed');
    const parent = path.dirname(cur);
    if (parent === cur) {
      throw new TestbedError('BAD_OPTION', `no nx.json found above ${from}`, { hint: 'Pass --dir to say where the testbed lives.' });
    }
    cur = parent;
  }
}
