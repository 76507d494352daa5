/**
 * Running a local program (buildah, skopeo) with argv, never through a shell: a missing program
 * becomes ToolMissing naming the Debian package, a failure returns its exit code and stderr.
 */
import { ToolMissing } from './errors.js';

export interface ToolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Debian/Ubuntu package of each program this package runs. */
const PACKAGES: Record<string, string> = { buildah: 'buildah', skopeo: 'skopeo' };

export async function runTool(
  tool: string,
  args: readonly string[],
  opts: { env?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<ToolResult> {
  const { execa } = await import('execa'); // loaded on first use: commands that build nothing skip it
  const r = await execa(tool, args, {
    reject: false,
    stdin: 'ignore',
    env: { LC_ALL: 'C', ...opts.env },
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
  });
  if (r.failed && r.exitCode === undefined && (r as { code?: string }).code === 'ENOENT') {
    const pkg = PACKAGES[tool] ?? tool;
    throw new ToolMissing(tool, 'this machine', `Install it: \`sudo apt-get install -y ${pkg}\` (Debian/Ubuntu package \`${pkg}\`), or see its upstream install guide.`, {
      cause: r,
    });
  }
  if (r.isCanceled) throw opts.signal?.reason instanceof Error ? opts.signal.reason : new Error(`${tool} was cancelled`);
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** The last `n` non-empty lines of a program's stderr, for messages. */
export function tail(text: string, n = 5): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-n)
    .join('\n');
}
