/**
 * Machine architectures as `uname -m` prints them. `amd64`/`arm64` (Debian, Docker, Go) are the
 * same machines as `x86_64`/`aarch64`; both spellings give one Nx hash. No dependencies: the Nx
 * plugin (nodes.ts) imports this while it builds the graph.
 */
const ALIASES: Record<string, string> = {
  amd64: 'x86_64',
  x64: 'x86_64',
  arm64: 'aarch64',
  armhf: 'armv7l',
  ppc64el: 'ppc64le',
};

/** The `uname -m` spelling of an architecture name (lower case, aliases resolved). */
export function normalizeArch(arch: string): string {
  const a = arch.trim().toLowerCase();
  return ALIASES[a] ?? a;
}

/** True when two architecture names denote the same machines. */
export function sameArch(a: string, b: string): boolean {
  return normalizeArch(a) === normalizeArch(b);
}

const OCI: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', armv7l: 'arm', ppc64le: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', i686: '386' };

/** The OCI/Go spelling (an image config's `architecture`) of an architecture name. */
export function ociArch(arch: string): string {
  const a = normalizeArch(arch);
  return OCI[a] ?? a;
}
