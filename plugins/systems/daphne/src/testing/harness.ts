/** Test helpers: temp workspaces inside <workspace>/tmp, a fake ExecutorContext, captured output, journals. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { executorContext, lastRun as lastRunOf, tempWorkspace, type JournalEvent } from '@labrig/testkit';

export const workspace = join(import.meta.dirname, '../../../../..');
export const fixturesDir = join(import.meta.dirname, 'fixtures');

/** A temp workspace root inside the workspace (plugins resolve from its node_modules). */
export const tempRoot = (prefix: string): string => tempWorkspace(workspace, prefix);

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
}

export const ctxFor = (root: string, project: string) => executorContext(root, project);
export { runExecutor as run, expectSuccess as ok, hostStatuses as statuses, type JournalEvent as Ev } from '@labrig/testkit';

/** Journal events of the newest run with this title. */
export const lastRun = async (root: string, title: string): Promise<JournalEvent[]> => (await lastRunOf(root, title)).events;

/** The first host error in a step. */
export const errorOf = (events: JournalEvent[], step: string): { code?: string; message?: string } | undefined =>
  (events.find((e) => e['type'] === 'host-end' && e['step'] === step && e['error']) as { error?: { code?: string; message?: string } } | undefined)?.error;
