/**
 * A small client of the Equinix Metal REST API (Node's fetch, no SDK): the four device calls labrig
 * needs. Every request carries the token in `X-Auth-Token`; rate limits, 5xx answers and network
 * errors are retried (bounded, backoff with jitter, Retry-After honoured); any other error status is
 * a MetalApiError with the API's message. The token lives in a private field and is redacted from
 * every message that leaves this module.
 */
import { Aborted, createRedactor, sleep, type BackoffOptions, type Redactor } from '@labrig/core';
import { MetalApiError, MetalUnavailable } from '../errors.js';
import { isTransientStatus, parseRetryAfter, retryDelayMs } from './retry-policy.js';
import type { CreateDeviceRequest, DevicePage, MetalDevice } from './types.js';

/** What the client tells its caller before it waits to retry a request. */
export interface RetryNotice {
  method: string;
  path: string;
  /** The attempt that failed (1-based) and how many are allowed. */
  attempt: number;
  attempts: number;
  /** Why: `429 rate limited`, `503 ...`, `network error: ECONNRESET`. */
  reason: string;
  delayMs: number;
}

export interface MetalClientOptions {
  /** Base URL, e.g. https://api.equinix.com/metal/v1. */
  apiUrl: string;
  token: string;
  /** Name of the token's environment variable, for hints. */
  tokenEnv: string;
  /** Tries per request, the first included. */
  attempts: number;
  backoff: BackoffOptions;
  requestTimeoutMs: number;
  signal?: AbortSignal;
  onRetry?: (notice: RetryNotice) => void;
  /** Devices per page when listing. Default 100. */
  perPage?: number;
}

interface SendOptions {
  query?: Record<string, string>;
  body?: unknown;
  /** A 404 is an answer (undefined), not an error. */
  notFoundOk?: boolean;
  /**
   * For requests that must not happen twice (create): called before retrying after a failure that
   * may have happened after the API acted on the request (5xx, network error). A value it returns
   * is taken as the request's result instead of sending it again.
   */
  recover?: () => Promise<unknown>;
  /** Names the operation in error messages (`creating tb-2`). */
  what?: string;
}

const USER_AGENT = 'labrig-platform-equinix/0.1.0';

export class MetalClient {
  readonly #token: string;
  readonly #redactor: Redactor;
  readonly #opts: Omit<MetalClientOptions, 'token'>;

  constructor(opts: MetalClientOptions) {
    const { token, ...rest } = opts;
    this.#token = token;
    this.#redactor = createRedactor([token]);
    this.#opts = { ...rest, apiUrl: rest.apiUrl.replace(/\/+$/, '') };
  }

  /** POST /projects/{id}/devices. `recover` finds the device when an ambiguous failure may have created it. */
  async createDevice(projectId: string, request: CreateDeviceRequest, recover?: () => Promise<MetalDevice | undefined>): Promise<MetalDevice> {
    const res = await this.send<MetalDevice>('POST', `/projects/${encodeURIComponent(projectId)}/devices`, {
      body: request,
      what: `creating ${request.hostname}`,
      ...(recover ? { recover } : {}),
    });
    if (!res.body?.id) throw new MetalApiError('POST', `/projects/${projectId}/devices`, res.status, 'the answer holds no device id', { tokenEnv: this.#opts.tokenEnv });
    return res.body;
  }

  /** GET /devices/{id}; undefined when the device does not exist (404). */
  async getDevice(id: string): Promise<MetalDevice | undefined> {
    return (await this.send<MetalDevice>('GET', `/devices/${encodeURIComponent(id)}`, { notFoundOk: true })).body;
  }

  /** GET /projects/{id}/devices, every page; `tag` asks the API to filter (callers still check the tags). */
  async listProjectDevices(projectId: string, filter: { tag?: string } = {}): Promise<MetalDevice[]> {
    const devices: MetalDevice[] = [];
    const perPage = String(this.#opts.perPage ?? 100);
    for (let page = 1; page <= 10_000; page++) {
      const query: Record<string, string> = { page: String(page), per_page: perPage, ...(filter.tag ? { tag: filter.tag } : {}) };
      const { body } = await this.send<DevicePage>('GET', `/projects/${encodeURIComponent(projectId)}/devices`, { query, what: 'listing devices' });
      const got = body?.devices ?? [];
      devices.push(...got);
      const last = body?.meta?.last_page;
      if (got.length === 0 || last === undefined || page >= last) break;
    }
    return devices;
  }

  /** DELETE /devices/{id}: `deleted`, or `gone` when the device no longer exists (404). */
  async deleteDevice(id: string): Promise<'deleted' | 'gone'> {
    const res = await this.send('DELETE', `/devices/${encodeURIComponent(id)}`, { notFoundOk: true, what: `deleting device ${id}` });
    return res.status === 404 ? 'gone' : 'deleted';
  }

  /** One request with retries: the final status and parsed JSON body (undefined when empty or an allowed 404). */
  private async send<T>(method: string, path: string, o: SendOptions = {}): Promise<{ status: number; body: T | undefined }> {
    const { attempts, backoff, requestTimeoutMs, signal } = this.#opts;
    const url = `${this.#opts.apiUrl}${path}${o.query ? `?${new URLSearchParams(o.query).toString()}` : ''}`;
    const headers: Record<string, string> = { 'X-Auth-Token': this.#token, Accept: 'application/json', 'User-Agent': USER_AGENT };
    if (o.body !== undefined) headers['Content-Type'] = 'application/json';
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw new Aborted(`interrupted during ${method} ${path}`);
      let reason: string;
      let retryAfterMs: number | undefined;
      let cause: unknown;
      let ambiguous = true;
      try {
        const timeout = AbortSignal.timeout(requestTimeoutMs);
        const res = await fetch(url, {
          method,
          headers,
          ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        const text = await res.text();
        if (res.ok) return { status: res.status, body: text.trim() === '' ? undefined : (JSON.parse(text) as T) };
        if (res.status === 404 && o.notFoundOk) return { status: 404, body: undefined };
        const message = this.#redactor.redact(apiMessageOf(text) || res.statusText || 'no message');
        if (!isTransientStatus(res.status)) {
          throw new MetalApiError(method, path, res.status, message, { tokenEnv: this.#opts.tokenEnv, ...(o.what ? { what: o.what } : {}) });
        }
        reason = `${res.status} ${message}`;
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
        ambiguous = res.status !== 429; // a rate-limited request was not acted on
      } catch (e) {
        if (e instanceof MetalApiError) throw e;
        if (signal?.aborted) throw new Aborted(`interrupted during ${method} ${path}`);
        cause = e;
        reason = this.#redactor.redact(describeFetchError(e, requestTimeoutMs));
      }
      if (attempt >= attempts) throw new MetalUnavailable(method, path, attempts, reason, { cause });
      const delayMs = retryDelayMs(attempt, backoff, retryAfterMs);
      this.#opts.onRetry?.({ method, path, attempt, attempts, reason, delayMs });
      if (!(await sleep(delayMs, signal))) throw new Aborted(`interrupted during ${method} ${path}`);
      if (ambiguous && o.recover) {
        const found = await o.recover();
        if (found !== undefined) return { status: 200, body: found as T };
      }
    }
  }
}

/** The message in an error body: `{"errors": [...]}` or `{"error": "..."}` (Metal's two forms), else the text. */
export function apiMessageOf(text: string): string {
  try {
    const body = JSON.parse(text) as { errors?: unknown; error?: unknown };
    if (Array.isArray(body.errors) && body.errors.length > 0) return body.errors.map(String).join('; ');
    if (typeof body.error === 'string') return body.error;
  } catch {
    /* not JSON: the text itself */
  }
  return text.trim().slice(0, 300);
}

function describeFetchError(e: unknown, timeoutMs: number): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (e instanceof SyntaxError) return `unreadable answer (${e.message})`;
  return `network error: ${err.cause?.code ?? err.cause?.message ?? err.message ?? String(e)}`;
}
