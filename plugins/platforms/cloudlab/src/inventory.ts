/**
 * The inventory of a CloudLab experiment: hosts from its manifest or servers.txt (beside the
 * platform file), roles by order (first = leader) or by name (`[roles]`), and cluster addresses
 * from what the prepare step recorded, else from the manifest. Reads files only: no host is contacted.
 */
import { readFile } from 'node:fs/promises';
import type { Host, PlatformContext } from '@labrig/core';
import { ConfigError, didYouMean, listNames } from '@labrig/core';
import { assignRoles as assignKitRoles, resolveFromRoot } from '@labrig/platform-kit';
import type { CloudlabConfig } from './config.js';
import { parseManifest, type ManifestNode } from './manifest.js';
import { displayPathOf, platformFilesOf, resolveFromPlatformDir, type PlatformFiles } from './paths.js';
import { parseServersFile } from './servers-file.js';
import { currentRecord, readClusterAddresses } from './state.js';
import { parseSubnet, pickInSubnet } from './subnet.js';
import { loadXmlLibrary } from './xml.js';

export const LEADER = 'leader';
export const WORKER = 'worker';

/** A host as its source lists it, before roles and recorded addresses. */
type Listed = Omit<Host, 'roles'>;

/** Which file lists the hosts; one ConfigError on the platform file when not exactly one is set. */
function sourceOf(cfg: CloudlabConfig, files: PlatformFiles): { field: 'hosts.manifest' | 'hosts.serversFile'; path: string } {
  const { manifest, serversFile } = cfg.hosts;
  if (manifest !== undefined && serversFile !== undefined) {
    throw new ConfigError(files.file, 'hosts', 'sets both `manifest` and `serversFile`; keep one', {
      hint: `Keep hosts.manifest (the experiment's RSpec) or hosts.serversFile in ${files.file}, not both.`,
    });
  }
  if (manifest !== undefined) return { field: 'hosts.manifest', path: manifest };
  if (serversFile !== undefined) return { field: 'hosts.serversFile', path: serversFile };
  throw new ConfigError(files.file, 'hosts', 'needs `manifest` (the experiment manifest) or `serversFile` (a servers.txt)', {
    hint: `Download the manifest from the experiment page (Manifest tab) into configs/platforms/${files.name}/manifest.xml and set hosts.manifest = "manifest.xml" in ${files.file}.`,
  });
}

/** A listing file's text; a missing file is a ConfigError on the field that names it. */
async function readListing(files: PlatformFiles, field: string, path: string, display: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(files.file, field, code === 'ENOENT' ? `${display} does not exist` : `${display} cannot be read (${code ?? (e as Error).message})`, {
      cause: e,
      hint: `Save the file at ${display} (paths are relative to configs/platforms/${files.name}/), or fix ${field} in ${files.file}.`,
    });
  }
}

/** The user names a manifest's logins offer, in order of first appearance. */
function manifestUsers(nodes: readonly ManifestNode[]): string[] {
  return [...new Set(nodes.flatMap((n) => n.logins.flatMap((l) => (l.username ? [l.username] : []))))];
}

/** Whether `user` may log in to `node`: one of its logins is `user`'s, or its logins name no user at all. */
const hasLoginFor = (node: ManifestNode, user: string): boolean => node.logins.some((l) => l.username === user) || node.logins.every((l) => l.username === undefined);

/**
 * A configured `hosts.user` must have a login on every node: a typo, or another project's user,
 * would otherwise fail later as an authentication error on every host.
 */
function checkUser(nodes: readonly ManifestNode[], user: string, files: PlatformFiles, display: string): void {
  const lacking = nodes.filter((n) => !hasLoginFor(n, user));
  if (lacking.length === 0) return;
  const users = manifestUsers(nodes);
  if (lacking.length === nodes.length) {
    const guess = didYouMean(user, users);
    throw new ConfigError(files.file, 'hosts.user', `"${user}" has no login on any node of ${display}${guess ? ` (did you mean "${guess}"?)` : ''}; users with logins: ${listNames(users)}`, {
      hint: `Set hosts.user in ${files.file} to your CloudLab user name as the manifest spells it (names are case-sensitive)${guess ? `, e.g. "${guess}"` : ''}, or download the manifest of your own experiment.`,
    });
  }
  const everywhere = users.filter((u) => nodes.every((n) => hasLoginFor(n, u)));
  throw new ConfigError(
    files.file,
    'hosts.user',
    `"${user}" has a login on ${nodes.length - lacking.length} of ${nodes.length} nodes of ${display}, not on ${lacking.length === 1 ? 'node' : `${lacking.length} nodes`}: ${listNames(lacking.map((n) => n.name))}`,
    {
      hint: `Download the manifest again (experiment page, Manifest tab); if those nodes still have no login for "${user}", set hosts.user in ${files.file} to a user with a login on every node${everywhere.length > 0 ? ` (${listNames(everywhere)})` : ''}.`,
    },
  );
}

/** The login of a manifest node: the configured user's (checkUser made sure there is one), else the only user offered. */
function loginOf(node: ManifestNode, user: string | undefined, files: PlatformFiles, display: string): { hostname: string; port: number; user?: string } {
  const first = node.logins[0]!;
  if (user !== undefined) {
    const mine = node.logins.find((l) => l.username === user) ?? first;
    return { hostname: mine.hostname, port: mine.port, user };
  }
  const users = manifestUsers([node]);
  if (users.length > 1) {
    throw new ConfigError(files.file, 'hosts.user', `is not set and ${display} offers several login users for ${node.name} (${listNames(users)})`, {
      hint: `Set hosts.user in ${files.file} to your CloudLab user name (one of ${listNames(users)}).`,
    });
  }
  return { hostname: first.hostname, port: first.port, ...(users[0] ? { user: users[0] } : {}) };
}

/** The manifest's nodes as hosts, with the cluster address it assigned (on the subnet). */
export function hostsFromManifest(nodes: ManifestNode[], cfg: CloudlabConfig, files: PlatformFiles, display: string): Listed[] {
  const subnet = parseSubnet(cfg.network.subnet);
  if (cfg.hosts.user !== undefined) checkUser(nodes, cfg.hosts.user, files, display);
  return nodes.map((n) => {
    const login = loginOf(n, cfg.hosts.user, files, display);
    const cluster = pickInSubnet(n.addresses, subnet);
    const labels: Record<string, string> = { platform: 'cloudlab', source: 'manifest' };
    if (n.hardwareType) labels['hardwareType'] = n.hardwareType;
    if (n.component) labels['component'] = n.component;
    if (n.site) labels['site'] = n.site;
    if (n.dnsName) labels['dnsName'] = n.dnsName;
    if (n.publicIpv4) labels['publicIpv4'] = n.publicIpv4;
    return {
      name: n.name,
      address: login.hostname,
      port: login.port,
      ...(login.user ? { user: login.user } : {}),
      labels,
      ...(cluster ? { privateAddress: cluster.address } : {}),
    };
  });
}

/**
 * Roles: a host that `[roles]` names gets exactly those; the others get `leader` (the first,
 * unless `[roles]` names a leader) or `worker`. A role naming an unknown host is a ConfigError
 * (the kit's rule, as on every platform).
 */
export function assignRoles(names: readonly string[], roles: Record<string, string[]>, file: string): string[][] {
  const leaderNamed = (roles[LEADER] ?? []).length > 0;
  return assignKitRoles(names, roles, file, (_, i) => (i === 0 && !leaderNamed ? [LEADER] : [WORKER]), { of: 'this experiment' });
}

/** The hosts of the experiment (see the module comment). */
export async function cloudlabInventory(cfg: CloudlabConfig, ctx: PlatformContext): Promise<Host[]> {
  const files = platformFilesOf(ctx);
  const source = sourceOf(cfg, files);
  const path = resolveFromPlatformDir(files, source.path);
  const display = displayPathOf(ctx, path);
  const text = await readListing(files, source.field, path, display);
  const listed: Listed[] =
    source.field === 'hosts.manifest'
      ? hostsFromManifest(parseManifest(text, display, loadXmlLibrary(ctx.root)), cfg, files, display)
      : parseServersFile(text, display).map((s) => ({
          name: s.name,
          address: s.hostname,
          port: cfg.hosts.port,
          ...(cfg.hosts.user ? { user: cfg.hosts.user } : {}),
          labels: { platform: 'cloudlab', source: 'servers.txt' },
        }));
  const roles = assignRoles(
    listed.map((h) => h.name),
    cfg.roles,
    files.file,
  );
  const records = await readClusterAddresses(ctx.stateDir);
  // [ssh].identityFiles on each host: the keys CloudLab has the public half of, tried first.
  const keys = cfg.ssh.identityFiles?.map((f) => resolveFromRoot(ctx.root, f));
  return listed.map((h, i) => {
    const recorded = currentRecord(records, h, cfg.network.subnet);
    return {
      ...h,
      roles: roles[i]!,
      ...(keys ? { identityFiles: keys } : {}),
      ...(recorded ? { privateAddress: recorded.clusterAddress, labels: { ...h.labels, clusterInterface: recorded.interface } } : {}),
    };
  });
}
