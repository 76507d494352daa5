/** Names and tags labrig puts on instances, and the index read back from a Name tag. Pure functions. */
import { randomBytes } from 'node:crypto';

/** Tag whose value is the deployment id: what inventory by tag and provision look for. */
export const DEPLOYMENT_TAG = 'labrig:deployment';
/** Tag holding the instance's index (also the suffix of its Name), so a renamed instance keeps its place. */
export const INDEX_TAG = 'labrig:index';

/** `<prefix>-<index>`: the Name tag of instance `index`. */
export function instanceName(prefix: string, index: number): string {
  return `${prefix}-${index}`;
}

/**
 * The index at the end of a Name tag (`sigma-3`, `sigma3` -> 3), as SigmaOS's scripts sort their
 * VPC's instances; undefined when the name does not end in digits.
 */
export function indexOfName(name: string | undefined): number | undefined {
  const m = name === undefined ? null : /(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** A deployment id for a platform folder: `<folder>-<8 hex>`, unique per first provision. */
export function newDeploymentId(folder: string): string {
  const base = folder.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 50) || 'labrig';
  return `${base}-${randomBytes(4).toString('hex')}`;
}
