/**
 * A client of the CloudLab/Emulab Portal API (HTTPS on boss.emulab.net:43794 for every CloudLab
 * cluster; the OpenAPI description is the Emulab project's portal-api). Every request carries the
 * user's token in `X-Api-Token`. Known answers become typed errors:
 * - 401/403: PortalAuthRefused, naming where the token came from (expired: tokens last about two
 *   months; or not a member of the project);
 * - 404: PortalNotFound (an experiment that is gone);
 * - other 4xx: PortalRequestFailed with the portal's own message (`error`, `errors[]`);
 * - 429 (the portal is loaded), 5xx and network errors: retried with exponential backoff and
 *   jitter (Retry-After honoured), then PortalUnavailable.
 * The token is never logged: it is registered as a secret (core's redaction) when read.
 *
 * What the published description leaves open is decided in one place each, and said so in
 * docs/platforms/cloudlab.md: how an extension that waits for an administrator answers
 * (`readExtension`), and the experiment states that are final (`FINAL_STATES`).
 */
import { addSecret, LabrigError } from '@labrig/core';

export const DEFAULT_PORTAL_URL = 'https://boss.emulab.net:43794';

/** Experiment states after which polling stops (the portal's `status`). */
export const FINAL_STATES = ['ready', 'failed'] as const;

export interface PortalNode {
  urn?: string;
  client_id: string;
  hostname?: string;
  ipv4?: string;
  status?: string;
  state?: string;
  rawstate?: string;
  startup_status?: string;
}

export interface PortalAggregate {
  urn?: string;
  name?: string;
  status?: string;
  nodes?: PortalNode[];
}

/** The fields of an experiment labrig reads (the portal sends more). */
export interface PortalExperiment {
  id: string;
  name?: string;
  project?: string;
  status?: string;
  created_at?: string;
  started_at?: string | null;
  expires_at?: string | null;
  url?: string;
  aggregates?: Record<string, PortalAggregate>;
  /** Why it failed to instantiate, when the portal says (field names vary; see `failureReason`). */
  [k: string]: unknown;
}

export interface ExperimentCreate {
  name: string;
  project: string;
  profile_name: string;
  profile_project: string;
  /** Hours. */
  duration?: number;
  bindings?: Record<string, unknown>;
  group?: string;
}

/** Where the token came from, for messages: `$CLOUDLAB_TOKEN` or a file path. Never the token. */
export type TokenSource = { env: string } | { file: string };

export function describeTokenSource(s: TokenSource): string {
  return 'env' in s ? `the environment variable ${s.env}` : `the file ${s.file}`;
}

export class PortalAuthRefused extends LabrigError {
  readonly code = 'PORTAL_AUTH';
  constructor(
    readonly status: number,
    source: TokenSource,
    portalMessage: string,
  ) {
    super(`the CloudLab portal refused the token from ${describeTokenSource(source)} (HTTP ${status}${portalMessage ? `: ${portalMessage}` : ''})`, {
      hint:
        status === 401
          ? `The token may have expired (they last about two months): download a new one from the portal (your name, top right, "Download Credentials"/API token) into ${describeTokenSource(source)}.`
          : `The token is valid but may not be allowed this (is its user a member of the project named in [experiment] project?). Check the project, or use a token of a member.`,
    });
  }
}

export class PortalNotFound extends LabrigError {
  readonly code = 'PORTAL_NOT_FOUND';
  constructor(readonly what: string) {
    super(`${what}: the portal has no such thing (HTTP 404)`, { hint: 'It may have been terminated or have expired; check the portal.' });
  }
}

export class PortalRequestFailed extends LabrigError {
  readonly code = 'PORTAL_REQUEST';
  constructor(
    readonly status: number,
    what: string,
    readonly portalMessage: string,
  ) {
    super(`${what}: the portal answered HTTP ${status}: ${portalMessage || '(no message)'}`, { hint: 'The message is the portal\'s own; fix what it names in [experiment] of the platform file.' });
  }
}

export class PortalUnavailable extends LabrigError {
  readonly code = 'PORTAL_UNAVAILABLE';
  constructor(what: string, attempts: number, last: string, opts: { cause?: unknown } = {}) {
    super(`${what}: the portal did not answer usefully after ${attempts} attempt(s) (last: ${last})`, {
      hint: 'The portal may be loaded (HTTP 429) or down: run the command again later; nothing already done is lost.',
      cause: opts.cause,
      retryable: true,
    });
  }
}

export interface PortalClientOptions {
  apiUrl?: string;
  token: string;
  tokenSource: TokenSource;
  /** Attempts per request for 429, 5xx and network errors. Default 6. */
  attempts?: number;
  /** First backoff; doubles each time, with jitter, capped at `maxBackoffMs`. Default 1 s. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Per request. Default 60 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class PortalClient {
  readonly apiUrl: string;
  private readonly o: Required<Omit<PortalClientOptions, 'signal' | 'apiUrl'>> & { signal?: AbortSignal };

  constructor(o: PortalClientOptions) {
    this.apiUrl = (o.apiUrl ?? DEFAULT_PORTAL_URL).replace(/\/+$/, '');
    addSecret(o.token);
    this.o = { attempts: 6, backoffMs: 1000, maxBackoffMs: 30_000, timeoutMs: 60_000, ...o };
  }

  /** One request with retries; the parsed JSON body (undefined for an empty one). */
  /**
   * `once`: a request that must not be sent twice (create): a network error or a 5xx may mean it
   * was done, so it is not retried (PortalUnavailable at once: the caller looks); 429 still is.
   */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, what: string, body?: unknown, o: { once?: boolean } = {}): Promise<{ status: number; body: T }> {
    let last = '';
    let cause: unknown;
    for (let attempt = 1; attempt <= this.o.attempts; attempt++) {
      this.o.signal?.throwIfAborted();
      let res: Response;
      try {
        res = await fetch(`${this.apiUrl}${path}`, {
          method,
          headers: { 'X-Api-Token': this.o.token, Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          redirect: 'follow',
          signal: this.o.signal ? AbortSignal.any([this.o.signal, AbortSignal.timeout(this.o.timeoutMs)]) : AbortSignal.timeout(this.o.timeoutMs),
        });
      } catch (e) {
        this.o.signal?.throwIfAborted();
        cause = e;
        last = `${(e as Error).message}${(e as { cause?: Error }).cause?.message ? ` (${(e as { cause?: Error }).cause!.message})` : ''}`;
        if (o.once) throw new PortalUnavailable(what, attempt, `${last}; it may have been done`, { cause });
        await this.sleep(attempt, undefined);
        continue;
      }
      const text = await res.text();
      if (res.status === 429 || res.status >= 500) {
        last = `HTTP ${res.status}${portalMessage(text) ? `: ${portalMessage(text)}` : ''}`;
        if (o.once && res.status >= 500) throw new PortalUnavailable(what, attempt, `${last}; it may have been done`);
        await this.sleep(attempt, res.headers.get('retry-after'));
        continue;
      }
      if (res.status === 401 || res.status === 403) throw new PortalAuthRefused(res.status, this.o.tokenSource, portalMessage(text));
      if (res.status === 404) throw new PortalNotFound(what);
      if (res.status >= 400) throw new PortalRequestFailed(res.status, what, portalMessage(text));
      let parsed: T;
      try {
        parsed = (text.trim() === '' ? undefined : JSON.parse(text)) as T;
      } catch {
        throw new PortalRequestFailed(res.status, what, `an answer that is not JSON: ${text.slice(0, 200)}`);
      }
      return { status: res.status, body: parsed };
    }
    throw new PortalUnavailable(what, this.o.attempts, last, { cause });
  }

  private async sleep(attempt: number, retryAfter: string | null | undefined): Promise<void> {
    if (attempt >= this.o.attempts) return;
    const after = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : undefined;
    const base = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** (attempt - 1));
    const ms = after !== undefined ? Math.min(this.o.maxBackoffMs, after) : base / 2 + Math.random() * (base / 2);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      this.o.signal?.addEventListener('abort', () => (clearTimeout(t), reject(this.o.signal!.reason)), { once: true });
    });
  }

  /** `project,name` or a UUID, as the portal takes it in paths. */
  static experimentId(project: string, name: string): string {
    return `${project},${name}`;
  }

  createExperiment(e: ExperimentCreate): Promise<PortalExperiment> {
    return this.request<PortalExperiment>('POST', '/experiments', `create experiment ${e.project}/${e.name}`, e, { once: true }).then((r) => r.body);
  }

  getExperiment(id: string): Promise<PortalExperiment> {
    return this.request<PortalExperiment>('GET', `/experiments/${encodeURIComponent(id)}`, `experiment ${id}`).then((r) => r.body);
  }

  /** `{ cluster URN: RSpec manifest XML }`. */
  getManifests(id: string): Promise<Record<string, string>> {
    return this.request<Record<string, string>>('GET', `/experiments/${encodeURIComponent(id)}/manifests`, `manifests of ${id}`).then((r) => r.body ?? {});
  }

  async extendExperiment(id: string, x: { extend_by?: number; expires_at?: string; reason: string }): Promise<ExtensionOutcome> {
    const r = await this.request<PortalExperiment | Record<string, unknown>>('PUT', `/experiments/${encodeURIComponent(id)}`, `extend ${id}`, x);
    return readExtension(r.status, r.body);
  }

  /** Terminate; an experiment already gone counts as done (false). */
  async terminateExperiment(id: string): Promise<boolean> {
    try {
      await this.request('DELETE', `/experiments/${encodeURIComponent(id)}`, `terminate ${id}`);
      return true;
    } catch (e) {
      if (e instanceof PortalNotFound) return false;
      throw e;
    }
  }

  async nodeAction(id: string, clientId: string, action: 'reboot' | 'reload' | 'powercycle'): Promise<void> {
    await this.request('POST', `/experiments/${encodeURIComponent(id)}/node/${encodeURIComponent(clientId)}/${action}`, `${action} ${clientId} of ${id}`);
  }
}

export type ExtensionOutcome = { granted: true; expiresAt?: string } | { granted: false; pending: true; message: string };

/**
 * How an extension answered. Short extensions are granted at once and the experiment comes back
 * with its new `expires_at`; a long one waits for an administrator. The description does not show
 * that answer's shape: labrig treats 202 Accepted, or a 2xx whose body has no later `expires_at`
 * but a message, as waiting (not a failure). This is the one place that decides it.
 */
export function readExtension(status: number, body: unknown): ExtensionOutcome {
  const b = (body ?? {}) as { expires_at?: string | null; message?: string; error?: string };
  if (status === 202 || (!b.expires_at && (b.message || b.error))) return { granted: false, pending: true, message: b.message ?? b.error ?? 'the extension waits for an administrator' };
  return { granted: true, ...(b.expires_at ? { expiresAt: b.expires_at } : {}) };
}

/** The portal's message of an error answer (`error` and `errors[]`), or its text. */
export function portalMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: string; errors?: string[] };
    return [j.error, ...(j.errors ?? [])].filter(Boolean).join('; ');
  } catch {
    return text.trim().slice(0, 300);
  }
}

/** Every node of an experiment, across clusters. */
export function nodesOf(e: PortalExperiment): PortalNode[] {
  return Object.values(e.aggregates ?? {}).flatMap((a) => a.nodes ?? []);
}
