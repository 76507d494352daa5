/**
 * How labrig names and marks the devices of a deployment: hostnames `<prefix>-<index>`, the
 * deployment tag that finds them again, and per-device login users. Pure functions.
 */

/** Tag on every device labrig creates (with the deployment tag). */
export const LABRIG_TAG = 'labrig';

/** The tag that marks a device as part of `deployment`: the inventory is the devices carrying it. */
export function deploymentTag(deployment: string): string {
  return `labrig:deployment=${deployment}`;
}

/** Hostname of device `index`. */
export function hostnameOf(prefix: string, index: number): string {
  return `${prefix}-${index}`;
}

/** The index in a hostname `<prefix>-<index>`, or undefined when the hostname is not of that form. */
export function indexOfHostname(prefix: string, hostname: string): number | undefined {
  if (!hostname.startsWith(`${prefix}-`)) return undefined;
  const rest = hostname.slice(prefix.length + 1);
  return /^(0|[1-9][0-9]{0,5})$/.test(rest) ? Number(rest) : undefined;
}

/** The login user of a device: `{index}` and `{hostname}` in the configured user replaced. */
export function loginUserOf(template: string, device: { index: number; hostname: string }): string {
  return template.replaceAll('{index}', String(device.index)).replaceAll('{hostname}', device.hostname);
}
