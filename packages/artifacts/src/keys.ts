/** Store keys, computed without the S3 client (light: deploy plans use it without the AWS SDK). */

export const SHA256_RE = /^[0-9a-f]{64}$/;

/** A prefix as the store uses it: no leading or trailing `/`. */
export function normalizePrefix(prefix: string | undefined): string {
  return (prefix ?? '').replace(/^\/+|\/+$/g, '');
}

/** `<prefix>/<rest>`, or `<rest>` without a prefix. */
export function withPrefix(prefix: string | undefined, rest: string): string {
  const p = normalizePrefix(prefix);
  return p ? `${p}/${rest}` : rest;
}

/** The key of a content digest: `<prefix>/sha256/<hex>`. */
export function contentKey(prefix: string | undefined, sha256: string): string {
  if (!SHA256_RE.test(sha256)) throw new TypeError(`not a sha256 hex digest: ${JSON.stringify(sha256)}`);
  return withPrefix(prefix, `sha256/${sha256}`);
}
