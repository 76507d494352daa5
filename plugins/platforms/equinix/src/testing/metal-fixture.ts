/**
 * MetalApiFixture: a STAND-IN for the Equinix Metal API, for tests only (the real API is a paid
 * cloud that tests never contact). It serves, on loopback HTTP, exactly the subset labrig uses,
 * with the API's paths and JSON shapes:
 *
 *   POST   {base}/projects/{id}/devices   create (201, the device; 422 with `errors` when invalid)
 *   GET    {base}/devices/{id}            one device (404 once gone)
 *   GET    {base}/projects/{id}/devices   the project's devices (`page`, `per_page`, `tag`; `meta`)
 *   DELETE {base}/devices/{id}            delete (204; 404 when it does not exist)
 *
 * Every request must carry the right `X-Auth-Token` (else 401). Devices are `provisioning` until
 * `activeAfterMs` after their creation, then `active` with their addresses; after DELETE they are
 * `deprovisioning` for `goneAfterMs`, then gone. Lists show the newest first (callers must sort). Public IPv4 addresses come from a pool the test
 * gives (real sshd hosts of the testbed, so waiting for SSH is real) and return to it when a device
 * is gone. Faults (429 with Retry-After, 5xx, dropped connections, any status) are injected per
 * method and path. Every request is recorded with its time and answer.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetalFixtureOptions {
  /** The only token the fixture accepts. */
  token: string;
  projectId: string;
  /** Public IPv4 addresses handed to new devices, first free first. */
  publicAddresses: string[];
  /** Time from create to `active`. Default 300 ms. */
  activeAfterMs?: number;
  /** Time from DELETE to gone. Default 200 ms. */
  goneAfterMs?: number;
  /** Cap on `per_page` (to exercise paging). Default 1000. */
  maxPerPage?: number;
}

/** A fault: the matching requests after the first `skip` ones get this answer, `times` times. */
export interface FixtureFault {
  method: string;
  path: RegExp;
  status?: number;
  /** Retry-After header value (seconds, or an HTTP date). */
  retryAfter?: string;
  /** Message in the `errors` array of the answer. */
  message?: string;
  /** Close the connection without an answer (a network error) instead. */
  drop?: boolean;
  /** For `drop`: act on the request first (the create happens, its answer is lost). */
  dropAfterHandling?: boolean;
  skip?: number;
  times?: number;
}

export interface RecordedRequest {
  method: string;
  /** Path below the API base, without the query. */
  path: string;
  query: Record<string, string>;
  /** Answer status (0 for a dropped connection). */
  status: number;
  /** Date.now() when the request arrived. */
  at: number;
  /** Whether the right X-Auth-Token came with it. */
  authorized: boolean;
}

/** A device as the fixture keeps it. */
export interface FixtureDevice {
  id: string;
  hostname: string;
  plan: string;
  metro: string;
  operatingSystem: string;
  billingCycle: string;
  tags: string[];
  createdAt: number;
  activeAt: number;
  deleteRequestedAt?: number;
  publicAddress?: string;
  privateAddress: string;
  /** Made by `seed` (someone else's device), not through the API. */
  seeded: boolean;
}

interface ArmedFault extends FixtureFault {
  seen: number;
  fired: number;
}

export const BASE_PATH = '/metal/v1';

export class MetalApiFixture {
  readonly requests: RecordedRequest[] = [];
  /** Ids deleted through the API, in order. */
  readonly deletedIds: string[] = [];
  #devices: FixtureDevice[] = [];
  #faults: ArmedFault[] = [];
  #privateCounter = 0;
  #server: Server;
  #o: Required<MetalFixtureOptions>;
  #url = '';

  private constructor(o: MetalFixtureOptions) {
    this.#o = { activeAfterMs: 300, goneAfterMs: 200, maxPerPage: 1000, ...o };
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  /** Start listening on 127.0.0.1 (a free port). */
  static async start(o: MetalFixtureOptions): Promise<MetalApiFixture> {
    const f = new MetalApiFixture(o);
    await new Promise<void>((resolve) => f.#server.listen(0, '127.0.0.1', resolve));
    f.#url = `http://127.0.0.1:${(f.#server.address() as AddressInfo).port}${BASE_PATH}`;
    return f;
  }

  /** The API base URL to put in `apiUrl`. */
  get url(): string {
    return this.#url;
  }

  inject(fault: FixtureFault): void {
    this.#faults.push({ ...fault, seen: 0, fired: 0 });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  /** A device that exists without labrig (someone else's): active at once. */
  seed(d: { hostname: string; tags?: string[]; publicAddress?: string }): FixtureDevice {
    const device: FixtureDevice = {
      ...this.#newDevice(d.hostname, d.tags ?? []),
      activeAt: Date.now(),
      seeded: true,
      ...(d.publicAddress ? { publicAddress: d.publicAddress } : {}),
    };
    this.#devices.push(device);
    return device;
  }

  /** Devices that exist now (gone ones excluded). */
  devices(): FixtureDevice[] {
    this.#sweep();
    return this.#devices.map((d) => ({ ...d }));
  }

  /** Requests matching method and path (regexp on the path below the base). */
  requestsTo(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #newDevice(hostname: string, tags: string[]): Omit<FixtureDevice, 'seeded'> {
    const now = Date.now();
    this.#privateCounter++;
    return {
      id: randomUUID(),
      hostname,
      plan: 'c3.small.x86',
      metro: 'da',
      operatingSystem: 'ubuntu_22_04',
      billingCycle: 'hourly',
      tags,
      createdAt: now,
      activeAt: now + this.#o.activeAfterMs,
      privateAddress: `10.62.${Math.floor(this.#privateCounter / 250)}.${(this.#privateCounter % 250) + 2}`,
    };
  }

  /** Devices whose deletion finished are gone; their public address returns to the pool. */
  #sweep(): void {
    const now = Date.now();
    this.#devices = this.#devices.filter((d) => d.deleteRequestedAt === undefined || now < d.deleteRequestedAt + this.#o.goneAfterMs);
  }

  #stateOf(d: FixtureDevice): string {
    if (d.deleteRequestedAt !== undefined) return 'deprovisioning';
    return Date.now() < d.activeAt ? 'provisioning' : 'active';
  }

  /** The device as the API shows it (addresses once active). */
  #toJson(d: FixtureDevice): Record<string, unknown> {
    const state = this.#stateOf(d);
    const ips =
      state === 'provisioning'
        ? []
        : [
            ...(d.publicAddress ? [{ address: d.publicAddress, address_family: 4, public: true, management: true, cidr: 31 }] : []),
            { address: `2604:1380:62::${d.privateAddress.split('.').pop()}`, address_family: 6, public: true, management: true, cidr: 127 },
            { address: d.privateAddress, address_family: 4, public: false, management: true, cidr: 31 },
          ];
    return {
      id: d.id,
      href: `${BASE_PATH}/devices/${d.id}`,
      hostname: d.hostname,
      state,
      tags: d.tags,
      created_at: new Date(d.createdAt).toISOString(),
      billing_cycle: d.billingCycle,
      plan: { slug: d.plan },
      metro: { code: d.metro },
      operating_system: { slug: d.operatingSystem },
      ip_addresses: ips,
      project: { href: `${BASE_PATH}/projects/${this.#o.projectId}` },
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const u = new URL(req.url ?? '/', 'http://fixture');
    const method = req.method ?? 'GET';
    const path = u.pathname.startsWith(BASE_PATH) ? u.pathname.slice(BASE_PATH.length) : u.pathname;
    const query = Object.fromEntries(u.searchParams);
    const body = await readBody(req);
    const authorized = req.headers['x-auth-token'] === this.#o.token;
    const record = (status: number): void => void this.requests.push({ method, path, query, status, at, authorized });
    const send = (status: number, json?: unknown, headers: Record<string, string> = {}): void => {
      record(status);
      res.writeHead(status, {
        Server: 'labrig-metal-fixture (stand-in for the Equinix Metal API)',
        ...(json === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      });
      res.end(json === undefined ? undefined : JSON.stringify(json));
    };
    if (!authorized) return send(401, { errors: ['Invalid authentication token'] });

    let fault: ArmedFault | undefined;
    for (const f of this.#faults) {
      if (f.method !== method || !f.path.test(path)) continue;
      f.seen++;
      if (!fault && f.seen > (f.skip ?? 0) && f.fired < (f.times ?? 1)) fault = f;
    }
    if (fault) {
      fault.fired++;
      if (fault.drop) {
        if (fault.dropAfterHandling) this.#route(method, path, query, body);
        record(0);
        req.socket.destroy();
        return;
      }
      return send(fault.status ?? 503, { errors: [fault.message ?? 'injected fault'] }, fault.retryAfter ? { 'Retry-After': fault.retryAfter } : {});
    }
    const answer = this.#route(method, path, query, body);
    send(answer.status, answer.json);
  }

  /** The API's behaviour: status and JSON for one authorized request. */
  #route(method: string, path: string, query: Record<string, string>, body: string): { status: number; json?: unknown } {
    this.#sweep();
    const notFound = { status: 404, json: { errors: ['Not found'] } };
    const projectDevices = /^\/projects\/([^/]+)\/devices$/.exec(path);
    const oneDevice = /^\/devices\/([^/]+)$/.exec(path);
    if (projectDevices) {
      if (projectDevices[1] !== this.#o.projectId) return notFound;
      if (method === 'GET') return { status: 200, json: this.#list(query) };
      if (method === 'POST') return this.#create(body);
    }
    if (oneDevice) {
      const d = this.#devices.find((x) => x.id === oneDevice[1]);
      if (!d) return notFound;
      if (method === 'GET') return { status: 200, json: this.#toJson(d) };
      if (method === 'DELETE') {
        d.deleteRequestedAt ??= Date.now();
        if (!this.deletedIds.includes(d.id)) this.deletedIds.push(d.id);
        return { status: 204 };
      }
    }
    return { status: 404, json: { errors: [`no route ${method} ${path} in the fixture`] } };
  }

  #list(query: Record<string, string>): unknown {
    const perPage = Math.min(Number(query['per_page'] ?? 20) || 20, this.#o.maxPerPage);
    const page = Math.max(1, Number(query['page'] ?? 1) || 1);
    const tag = query['tag'];
    // Newest first: callers must not rely on the API's order.
    const all = this.#devices.filter((d) => tag === undefined || d.tags.includes(tag)).reverse();
    const lastPage = Math.max(1, Math.ceil(all.length / perPage));
    return {
      devices: all.slice((page - 1) * perPage, page * perPage).map((d) => this.#toJson(d)),
      meta: { current_page: page, last_page: lastPage, total: all.length },
    };
  }

  #create(text: string): { status: number; json: unknown } {
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return { status: 422, json: { errors: ['request body is not JSON'] } };
    }
    for (const field of ['hostname', 'plan', 'metro', 'operating_system']) {
      if (typeof b[field] !== 'string' || b[field] === '') return { status: 422, json: { errors: [`${field} is required`] } };
    }
    const used = new Set(this.#devices.map((d) => d.publicAddress));
    const publicAddress = this.#o.publicAddresses.find((a) => !used.has(a));
    if (!publicAddress) return { status: 422, json: { errors: [`not enough capacity for ${String(b['plan'])} in ${String(b['metro'])}`] } };
    const device: FixtureDevice = {
      ...this.#newDevice(b['hostname'] as string, Array.isArray(b['tags']) ? b['tags'].map(String) : []),
      plan: b['plan'] as string,
      metro: b['metro'] as string,
      operatingSystem: b['operating_system'] as string,
      billingCycle: typeof b['billing_cycle'] === 'string' ? b['billing_cycle'] : 'hourly',
      publicAddress,
      seeded: false,
    };
    this.#devices.push(device);
    return { status: 201, json: this.#toJson(device) };
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
