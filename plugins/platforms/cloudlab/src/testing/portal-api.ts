/**
 * A stand-in for the CloudLab Portal API (the real one is HTTPS on boss.emulab.net:43794 and
 * cannot be reached from here): a small HTTP server on 127.0.0.1 that follows the request and
 * response shapes of the published OpenAPI description (Experiment with `aggregates` keyed by
 * cluster URN, nodes with client_id/hostname/ipv4/status; manifests as `{URN: RSpec XML}`; errors
 * as `{error, errors, code}`). Experiments go `created` → `provisioning` → `ready` (or `failed`
 * with a reason) over a number of polls. Knobs make the failures the specs need: 429s, a create
 * whose answer is lost, extensions that wait for an administrator, a wrong token or project.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FixtureNode {
  client_id: string;
  hostname: string;
  ipv4: string;
}

export interface PortalApiOptions {
  token: string;
  /** Projects the token's user is a member of. */
  projects: string[];
  /** Nodes of a new experiment, and the cluster they are on. */
  nodes: FixtureNode[];
  clusterUrn?: string;
  /** The manifest served for the cluster (RSpec XML). */
  manifest: (nodes: FixtureNode[]) => string;
  /** GETs of a new experiment before it is ready. Default 3. */
  readyAfterPolls?: number;
  /** What a node action does (a spec restarts the testbed host behind the node). */
  onNodeAction?: (a: { client_id: string; action: string }) => Promise<void> | void;
}

export interface FixtureExperiment {
  id: string;
  name: string;
  project: string;
  profile_name: string;
  profile_project: string;
  bindings: Record<string, unknown>;
  status: string;
  created_at: string;
  expires_at: string;
  polls: number;
  failWith?: string;
  terminated: boolean;
}

export interface PortalApi {
  url: string;
  experiments: Map<string, FixtureExperiment>;
  /** Every request: method, path, and whether it was answered. */
  requests: { method: string; path: string; status: number }[];
  /** Knobs, changed by the specs between calls. */
  knobs: {
    /** The next N requests (any) answer 429. */
    busy: number;
    /** The next create is made, but its answer is lost (the connection is cut). */
    loseCreateAnswer: boolean;
    /** New experiments fail to instantiate with this reason. */
    failNext?: string;
    /** Extensions up to this many hours are granted at once; longer ones wait for an administrator. */
    autoExtendHours: number;
  };
  nodeActions: { experiment: string; client_id: string; action: string }[];
  close(): Promise<void>;
}

export async function startPortalApi(o: PortalApiOptions): Promise<PortalApi> {
  const experiments = new Map<string, FixtureExperiment>();
  const requests: PortalApi['requests'] = [];
  const nodeActions: PortalApi['nodeActions'] = [];
  const knobs: PortalApi['knobs'] = { busy: 0, loseCreateAnswer: false, autoExtendHours: 24 };
  const urn = o.clusterUrn ?? 'urn:publicid:IDN+utah.cloudlab.us+authority+cm';

  const find = (id: string): FixtureExperiment | undefined => {
    const e = experiments.get(id) ?? [...experiments.values()].find((x) => `${x.project},${x.name}` === id);
    return e && !e.terminated ? e : undefined;
  };
  const view = (e: FixtureExperiment) => ({
    id: e.id,
    name: e.name,
    project: e.project,
    group: e.project,
    profile_name: e.profile_name,
    profile_project: e.profile_project,
    creator: 'akumar',
    status: e.status,
    created_at: e.created_at,
    started_at: e.status === 'ready' ? e.created_at : null,
    expires_at: e.expires_at,
    url: `https://www.cloudlab.us/status.php?uuid=${e.id}`,
    bindings: e.bindings,
    ...(e.failWith ? { failure_message: e.failWith } : {}),
    aggregates: {
      [urn]: {
        urn,
        name: 'Utah',
        status: e.status,
        nodes: o.nodes.map((n) => ({ urn: `urn:publicid:IDN+utah.cloudlab.us+node+${n.client_id}`, client_id: n.client_id, hostname: n.hostname, ipv4: n.ipv4, status: e.status === 'ready' ? 'ready' : 'booting', state: e.status === 'ready' ? 'ISUP' : 'SHUTDOWN', rawstate: '', startup_status: '' })),
      },
    },
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const body = await new Promise<string>((r) => {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString()));
      req.on('end', () => r(b));
    });
    const send = (status: number, v: unknown): void => {
      requests.push({ method: req.method ?? '', path, status });
      const text = JSON.stringify(v);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    const err = (status: number, error: string, errors: string[] = []) => send(status, { error, errors, code: status });
    if (knobs.busy > 0) {
      knobs.busy--;
      res.setHeader('Retry-After', '0');
      return err(429, 'Too many requests, please try again later');
    }
    if (req.headers['x-api-token'] !== o.token) return err(401, 'Invalid or expired token');
    const json = (): Record<string, unknown> => (body ? (JSON.parse(body) as Record<string, unknown>) : {});
    const m = /^\/experiments(?:\/([^/]+))?(?:\/(manifests|node)(?:\/([^/]+)\/(reboot|reload|powercycle))?)?\/?$/.exec(path);
    if (!m) return err(404, 'No such endpoint');
    const id = m[1] ? decodeURIComponent(m[1]) : undefined;
    if (req.method === 'POST' && !id) {
      const b = json() as { name?: string; project?: string; profile_name?: string; profile_project?: string; duration?: number; bindings?: Record<string, unknown> };
      if (!b.name || !b.project || !b.profile_name || !b.profile_project) return err(400, 'Missing required field', ['name, project, profile_name and profile_project are required']);
      if (!o.projects.includes(b.project)) return err(403, `Not a member of project ${b.project}`);
      if (find(`${b.project},${b.name}`)) return err(400, `Experiment ${b.name} already exists in project ${b.project}`);
      const now = Date.now();
      const e: FixtureExperiment = {
        id: randomUUID(),
        name: b.name,
        project: b.project,
        profile_name: b.profile_name,
        profile_project: b.profile_project,
        bindings: b.bindings ?? {},
        status: 'created',
        created_at: new Date(now).toISOString(),
        expires_at: new Date(now + (b.duration ?? 16) * 3600_000).toISOString(),
        polls: 0,
        terminated: false,
        ...(knobs.failNext ? { failWith: knobs.failNext } : {}),
      };
      experiments.set(e.id, e);
      if (knobs.loseCreateAnswer) {
        knobs.loseCreateAnswer = false;
        requests.push({ method: 'POST', path, status: 0 });
        req.socket.destroy();
        return;
      }
      return send(201, view(e));
    }
    const e = id ? find(id) : undefined;
    if (!e) return err(404, `No such experiment ${id ?? ''}`);
    if (!o.projects.includes(e.project)) return err(403, `Not a member of project ${e.project}`);
    if (req.method === 'GET' && !m[2]) {
      e.polls++;
      if (e.status !== 'ready' && e.status !== 'failed') {
        if (e.polls >= (o.readyAfterPolls ?? 3)) e.status = e.failWith ? 'failed' : 'ready';
        else if (e.polls >= 1) e.status = 'provisioning';
      }
      return send(200, view(e));
    }
    if (req.method === 'GET' && m[2] === 'manifests') {
      if (e.status !== 'ready') return send(200, {});
      return send(200, { [urn]: o.manifest(o.nodes) });
    }
    if (req.method === 'PUT' && !m[2]) {
      const b = json() as { extend_by?: number; expires_at?: string; reason?: string };
      const hours = b.extend_by ?? (b.expires_at ? (Date.parse(b.expires_at) - Date.parse(e.expires_at)) / 3600_000 : 0);
      if (!(hours > 0)) return err(400, 'Nothing to extend', ['extend_by must be a positive number of hours']);
      if (!b.reason) return err(400, 'A reason is required');
      if (hours > knobs.autoExtendHours) {
        requests.push({ method: 'PUT', path, status: 202 });
        res.writeHead(202, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ message: `Your request for ${hours} hours has been submitted for administrator approval` }));
        return;
      }
      e.expires_at = new Date(Date.parse(e.expires_at) + hours * 3600_000).toISOString();
      return send(200, view(e));
    }
    if (req.method === 'DELETE' && !m[2]) {
      e.terminated = true;
      return send(200, {});
    }
    if (req.method === 'POST' && m[2] === 'node' && m[3] && m[4]) {
      if (!o.nodes.some((n) => n.client_id === m[3])) return err(404, `No such node ${m[3]}`);
      nodeActions.push({ experiment: e.id, client_id: m[3], action: m[4] });
      await o.onNodeAction?.({ client_id: m[3], action: m[4] });
      return send(200, {});
    }
    return err(405, 'Method not allowed');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: String(e), code: 500 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    experiments,
    requests,
    knobs,
    nodeActions,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
