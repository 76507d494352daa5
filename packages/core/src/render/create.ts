/** An output mode → its renderer (`auto`: listr2 on a terminal outside CI, else plain lines). */
import { isCI, resolveOutputMode, type OutputMode } from '../options.js';
import { createJsonRenderer } from './json.js';
import { createPlainRenderer } from './plain.js';
import type { Renderer } from './renderer.js';
import { createTtyRenderer } from './tty.js';

export interface CreateRendererOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
  /** Print the summary table at run end (plain and tty). Default true; callers that print their own output first pass false. */
  summary?: boolean;
}

export function createRenderer(mode: OutputMode, opts: CreateRendererOptions = {}): Renderer {
  const stream = opts.stream ?? process.stdout;
  const resolved = resolveOutputMode(mode, { isTTY: stream.isTTY === true, ci: isCI(opts.env ?? process.env) });
  switch (resolved) {
    case 'json':
      return createJsonRenderer(stream);
    case 'plain':
      return createPlainRenderer({ stream, summary: opts.summary });
    case 'tty':
      return createTtyRenderer({ stream, summary: opts.summary });
  }
}
