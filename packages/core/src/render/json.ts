/** `--output=json`: one event per line on stdout. */
import type { Renderer } from './renderer.js';

export function createJsonRenderer(stream: NodeJS.WritableStream = process.stdout): Renderer {
  return {
    onEvent: (e) => {
      stream.write(`${JSON.stringify(e)}\n`);
    },
    close: () => undefined,
  };
}
