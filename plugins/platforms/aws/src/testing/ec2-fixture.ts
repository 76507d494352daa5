/**
 * A STAND-IN for the Amazon EC2 Query API, for tests only: a small HTTP server on loopback that
 * speaks the subset the aws platform calls — RunInstances, DescribeInstances, TerminateInstances —
 * the way EC2 does (form-encoded `Action=...&Version=2016-11-15` POSTs, XML answers in EC2's
 * namespace, EC2's error codes and `<Response><Errors>` documents), so the real AWS SDK talks to it
 * through its `endpoint` option. It is not AWS: signatures are not verified (only the access key
 * id of the SigV4 Authorization header is checked, when asked), and only what labrig uses exists.
 *
 * Instances get the addresses handed in (in tests: real testbed sshd hosts, so "SSH answers" is
 * real), go pending -> running after a delay and shutting-down -> terminated after another, stay
 * listed once terminated (as on EC2), and free their address. DescribeInstances answers newest
 * first (EC2 promises no order). Every call is recorded for
 * assertions; faults on demand: the Nth RunInstances fails, instances never start, unknown AMIs
 * and subnets, no capacity left, wrong credentials.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FixtureAddress {
  publicIp: string;
  privateIp: string;
}

/** An instance that exists before the test (not launched through the API: labrig did not create it). */
export interface SeedInstance {
  id?: string;
  tags: Record<string, string>;
  vpcId?: string;
  state?: 'running' | 'stopped' | 'pending';
  publicIp?: string;
  privateIp?: string;
}

export interface Ec2FixtureOptions {
  /** Addresses handed to launched instances, first free one first. No free address = no capacity. */
  addresses: FixtureAddress[];
  /** pending -> running after this long. Default 300 ms; Infinity: never. */
  runningAfterMs?: number;
  /** shutting-down -> terminated after this long. Default 200 ms. */
  terminatedAfterMs?: number;
  /** subnet id -> VPC id. Launching into another subnet fails (InvalidSubnetID.NotFound). */
  subnets?: Record<string, string>;
  /** VPC of instances launched without a subnet. Default `vpc-0default0000000`. */
  defaultVpc?: string;
  /** Known AMIs; when given, others fail (InvalidAMIID.NotFound). */
  images?: string[];
  /** Launch templates (name or id -> AMI); when given, others fail. */
  launchTemplates?: Record<string, string>;
  /** Only this access key id is accepted (AuthFailure otherwise). */
  accessKeyId?: string;
  /** The `call`-th RunInstances (1-based, counting every RunInstances) answers with this error. */
  failRunInstances?: { call: number; code: string; message: string; status?: number };
  seed?: SeedInstance[];
}

export interface RecordedCall {
  action: string;
  params: Record<string, string>;
  /** From the SigV4 credential scope. */
  accessKeyId?: string;
  region?: string;
}

/** An instance as the fixture holds it (state as of now). */
export interface FixtureInstance {
  id: string;
  state: string;
  tags: Record<string, string>;
  imageId: string;
  instanceType: string;
  vpcId: string;
  subnetId: string;
  publicIp?: string;
  privateIp?: string;
  clientToken?: string;
  /** false for seeded instances. */
  launched: boolean;
  launchTemplate?: string;
}

export interface Ec2Fixture {
  /** `http://127.0.0.1:PORT`: the EC2 endpoint to give the SDK. */
  endpoint: string;
  calls: RecordedCall[];
  /** The recorded calls of one action. */
  callsOf(action: string): RecordedCall[];
  instances(): FixtureInstance[];
  close(): Promise<void>;
}

const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const STATE_CODES: Record<string, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 };

interface Held {
  id: string;
  reservationId: string;
  tags: Record<string, string>;
  imageId: string;
  instanceType: string;
  vpcId: string;
  subnetId: string;
  address?: FixtureAddress;
  clientToken?: string;
  launchedAt: number;
  terminateAt?: number;
  fixedState?: string;
  launched: boolean;
  launchTemplate?: string;
}

/** An EC2 error answer. */
class Ec2Fault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const el = (name: string, content: string | number | undefined): string => (content === undefined ? '' : `<${name}>${content}</${name}>`);
const text = (name: string, value: string | undefined): string => (value === undefined ? '' : el(name, esc(value)));

/** `Prefix.1`, `Prefix.2`, ... values in order. */
function listParam(p: URLSearchParams, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; p.has(`${prefix}.${i}`); i++) out.push(p.get(`${prefix}.${i}`)!);
  return out;
}

function filtersOf(p: URLSearchParams): { name: string; values: string[] }[] {
  const out: { name: string; values: string[] }[] = [];
  for (let i = 1; p.has(`Filter.${i}.Name`); i++) out.push({ name: p.get(`Filter.${i}.Name`)!, values: listParam(p, `Filter.${i}.Value`) });
  return out;
}

function instanceTagsOf(p: URLSearchParams): Record<string, string> {
  const tags: Record<string, string> = {};
  for (let i = 1; p.has(`TagSpecification.${i}.ResourceType`); i++) {
    if (p.get(`TagSpecification.${i}.ResourceType`) !== 'instance') continue;
    for (let j = 1; p.has(`TagSpecification.${i}.Tag.${j}.Key`); j++) tags[p.get(`TagSpecification.${i}.Tag.${j}.Key`)!] = p.get(`TagSpecification.${i}.Tag.${j}.Value`) ?? '';
  }
  return tags;
}

/** EC2 filter value matching: `*` and `?` wildcards. */
function matches(value: string | undefined, patterns: string[]): boolean {
  if (value === undefined) return false;
  return patterns.some((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(value));
}

const hex = (n: number) => randomBytes(n).toString('hex');

export async function startEc2Fixture(o: Ec2FixtureOptions): Promise<Ec2Fixture> {
  const runningAfter = o.runningAfterMs ?? 300;
  const terminatedAfter = o.terminatedAfterMs ?? 200;
  const defaultVpc = o.defaultVpc ?? 'vpc-0default0000000';
  const held: Held[] = [];
  const calls: RecordedCall[] = [];
  let runCalls = 0;

  for (const s of o.seed ?? []) {
    held.push({
      id: s.id ?? `i-${hex(8)}`,
      reservationId: `r-${hex(8)}`,
      tags: { ...s.tags },
      imageId: 'ami-0seed000000000000',
      instanceType: 't3.micro',
      vpcId: s.vpcId ?? defaultVpc,
      subnetId: 'subnet-0seed0000000000',
      ...(s.publicIp || s.privateIp ? { address: { publicIp: s.publicIp ?? '', privateIp: s.privateIp ?? '' } } : {}),
      launchedAt: Date.now(),
      fixedState: s.state ?? 'running',
      launched: false,
    });
  }

  const stateOf = (h: Held, now = Date.now()): string => {
    if (h.terminateAt !== undefined) return now >= h.terminateAt ? 'terminated' : 'shutting-down';
    if (h.fixedState) return h.fixedState;
    return now - h.launchedAt >= runningAfter ? 'running' : 'pending';
  };
  const freeAddress = (): FixtureAddress | undefined =>
    o.addresses.find((a) => !held.some((h) => h.address?.publicIp === a.publicIp && stateOf(h) !== 'terminated'));

  const instanceXml = (h: Held): string => {
    const state = stateOf(h);
    const addressed = h.address && state !== 'terminated';
    return (
      '<item>' +
      text('instanceId', h.id) +
      text('imageId', h.imageId) +
      el('instanceState', el('code', STATE_CODES[state] ?? 0) + text('name', state)) +
      text('instanceType', h.instanceType) +
      text('launchTime', new Date(h.launchedAt).toISOString()) +
      el('placement', text('availabilityZone', 'us-east-1a')) +
      text('subnetId', h.subnetId) +
      text('vpcId', h.vpcId) +
      (addressed && h.address!.privateIp ? text('privateIpAddress', h.address!.privateIp) : '') +
      (addressed && h.address!.publicIp && state === 'running' ? text('ipAddress', h.address!.publicIp) : '') +
      text('clientToken', h.clientToken) +
      (state === 'terminated' ? el('stateReason', text('code', 'Client.UserInitiatedShutdown') + text('message', 'Client.UserInitiatedShutdown: User initiated shutdown')) : '') +
      el('tagSet', Object.entries(h.tags).map(([k, v]) => el('item', text('key', k) + text('value', v))).join('')) +
      '</item>'
    );
  };

  const filterOne = (h: Held, f: { name: string; values: string[] }): boolean => {
    if (f.name.startsWith('tag:')) return matches(h.tags[f.name.slice(4)], f.values);
    switch (f.name) {
      case 'tag-key':
        return Object.keys(h.tags).some((k) => matches(k, f.values));
      case 'vpc-id':
        return matches(h.vpcId, f.values);
      case 'subnet-id':
        return matches(h.subnetId, f.values);
      case 'instance-state-name':
        return matches(stateOf(h), f.values);
      case 'instance-id':
        return matches(h.id, f.values);
      case 'client-token':
        return matches(h.clientToken, f.values);
      default:
        throw new Ec2Fault('InvalidParameterValue', `The filter '${f.name}' is invalid`);
    }
  };

  const byIds = (ids: string[]): Held[] => {
    const unknown = ids.filter((id) => !held.some((h) => h.id === id));
    if (unknown.length) throw new Ec2Fault('InvalidInstanceID.NotFound', `The instance IDs '${unknown.join(', ')}' do not exist`);
    return held.filter((h) => ids.includes(h.id));
  };

  const actions: Record<string, (p: URLSearchParams) => string> = {
    RunInstances(p) {
      runCalls++;
      const fail = o.failRunInstances;
      if (fail && fail.call === runCalls) throw new Ec2Fault(fail.code, fail.message, fail.status ?? 400);
      const token = p.get('ClientToken') ?? undefined;
      const again = token ? held.filter((h) => h.clientToken === token) : [];
      if (again.length > 0) return reservationXml(again);
      const template = p.get('LaunchTemplate.LaunchTemplateName') ?? p.get('LaunchTemplate.LaunchTemplateId') ?? undefined;
      if (template !== undefined && o.launchTemplates && !(template in o.launchTemplates)) {
        throw new Ec2Fault('InvalidLaunchTemplateName.NotFoundException', `The specified launch template, with template name ${template}, does not exist.`);
      }
      const imageId = p.get('ImageId') ?? (template !== undefined ? o.launchTemplates?.[template] : undefined);
      if (!imageId) throw new Ec2Fault('MissingParameter', 'The request must contain the parameter ImageId');
      if (o.images && !o.images.includes(imageId)) throw new Ec2Fault('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
      const subnetId = p.get('SubnetId') ?? undefined;
      if (subnetId !== undefined && !(subnetId in (o.subnets ?? {}))) throw new Ec2Fault('InvalidSubnetID.NotFound', `The subnet ID '${subnetId}' does not exist`);
      const count = Number(p.get('MaxCount') ?? '1');
      const min = Number(p.get('MinCount') ?? '1');
      if (!(min >= 1 && count >= min)) throw new Ec2Fault('InvalidParameterValue', 'MinCount and MaxCount must be at least 1, MinCount <= MaxCount');
      const reservationId = `r-${hex(8)}`;
      const made: Held[] = [];
      for (let i = 0; i < count; i++) {
        const address = freeAddress();
        if (!address) {
          if (made.length >= min) break;
          held.splice(held.length - made.length, made.length);
          throw new Ec2Fault('InsufficientInstanceCapacity', 'We currently do not have sufficient capacity in the Availability Zone you requested.', 500);
        }
        const h: Held = {
          id: `i-${hex(8)}`,
          reservationId,
          tags: instanceTagsOf(p),
          imageId,
          instanceType: p.get('InstanceType') ?? 'm1.small',
          vpcId: subnetId !== undefined ? o.subnets![subnetId]! : defaultVpc,
          subnetId: subnetId ?? 'subnet-0default000000',
          address,
          ...(token ? { clientToken: token } : {}),
          launchedAt: Date.now(),
          launched: true,
          ...(template !== undefined ? { launchTemplate: template } : {}),
        };
        held.push(h);
        made.push(h);
      }
      return reservationXml(made);
    },
    DescribeInstances(p) {
      const ids = listParam(p, 'InstanceId');
      const filters = filtersOf(p);
      // Newest first: EC2 promises no order, and callers must sort themselves.
      const found = (ids.length ? byIds(ids) : held).filter((h) => filters.every((f) => filterOne(h, f))).reverse();
      const reservations = [...new Set(found.map((h) => h.reservationId))].map((r) => found.filter((h) => h.reservationId === r));
      return `<reservationSet>${reservations.map((hs) => `<item>${text('reservationId', hs[0]!.reservationId)}${text('ownerId', '123456789012')}<groupSet/><instancesSet>${hs.map(instanceXml).join('')}</instancesSet></item>`).join('')}</reservationSet>`;
    },
    TerminateInstances(p) {
      const ids = listParam(p, 'InstanceId');
      if (ids.length === 0) throw new Ec2Fault('MissingParameter', 'The request must contain the parameter InstanceId');
      const now = Date.now();
      const items = byIds(ids).map((h) => {
        const previous = stateOf(h, now);
        if (h.terminateAt === undefined) h.terminateAt = now + terminatedAfter;
        const current = stateOf(h, now);
        const st = (s: string) => el('code', STATE_CODES[s] ?? 0) + text('name', s);
        return `<item>${text('instanceId', h.id)}${el('currentState', st(current))}${el('previousState', st(previous))}</item>`;
      });
      return `<instancesSet>${items.join('')}</instancesSet>`;
    },
  };

  function reservationXml(hs: Held[]): string {
    return `${text('reservationId', hs[0]?.reservationId ?? `r-${hex(8)}`)}${text('ownerId', '123456789012')}<groupSet/><instancesSet>${hs.map(instanceXml).join('')}</instancesSet>`;
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const requestId = randomUUID();
      const params = new URLSearchParams(req.method === 'POST' ? Buffer.concat(chunks).toString('utf8') : (req.url ?? '').split('?')[1] ?? '');
      const action = params.get('Action') ?? '';
      const version = params.get('Version') ?? '2016-11-15';
      const scope = /Credential=([^/,\s]+)\/[^/]+\/([^/]+)\//.exec(req.headers.authorization ?? '');
      calls.push({
        action,
        params: Object.fromEntries(params),
        ...(scope ? { accessKeyId: scope[1]!, region: scope[2]! } : {}),
      });
      const send = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
      };
      try {
        if (!scope) throw new Ec2Fault('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
        if (o.accessKeyId !== undefined && scope[1] !== o.accessKeyId) throw new Ec2Fault('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
        const handler = actions[action];
        if (!handler) throw new Ec2Fault('InvalidAction', `The action ${action} is not valid for this web service.`);
        send(200, `<${action}Response xmlns="${NS.replace('2016-11-15', version)}">${text('requestId', requestId)}${handler(params)}</${action}Response>`);
      } catch (err) {
        const f = err instanceof Ec2Fault ? err : new Ec2Fault('InternalError', (err as Error).message, 500);
        send(f.status, `<Response><Errors><Error>${text('Code', f.code)}${text('Message', f.message)}</Error></Errors>${text('RequestID', requestId)}</Response>`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    callsOf: (action) => calls.filter((c) => c.action === action),
    instances: () =>
      held.map((h) => {
        const state = stateOf(h);
        return {
          id: h.id,
          state,
          tags: { ...h.tags },
          imageId: h.imageId,
          instanceType: h.instanceType,
          vpcId: h.vpcId,
          subnetId: h.subnetId,
          ...(h.address && state !== 'terminated' ? { publicIp: h.address.publicIp, privateIp: h.address.privateIp } : {}),
          ...(h.clientToken ? { clientToken: h.clientToken } : {}),
          launched: h.launched,
          ...(h.launchTemplate ? { launchTemplate: h.launchTemplate } : {}),
        };
      }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
