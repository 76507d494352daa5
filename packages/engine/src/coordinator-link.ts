/**
 * The coordinator's end of the link: `engine.sock` and `token` in its folder, answering `status`
 * and `stop` (after-run | now) with the agent's protocol (./link-server.ts).
 */
import { join } from 'node:path';
import type { CoordinatorLink } from '@labrig/experiments/coordinator';
import { serveLink } from './link-server.js';

export const COORDINATOR_SOCKET = 'engine.sock';

export function coordinatorLink(program: string): CoordinatorLink {
  return {
    async serve(dir, handlers) {
      const link = await serveLink({
        socket: join(dir, COORDINATOR_SOCKET),
        tokenFile: join(dir, 'token'),
        role: 'coordinator',
        program,
        handle(req) {
          const f = req.frame;
          if (f.t === 'status') req.send({ t: 'status', ...handlers.status() });
          else if (f.t === 'stop') {
            const mode = f['mode'] === 'now' ? 'now' : 'after-run';
            handlers.stop(mode);
            req.send({ t: 'stopping', mode });
          } else req.send({ t: 'refuse', code: 'protocol', message: `unknown request ${f.t}` });
          req.end();
        },
      });
      return { close: link.close };
    },
  };
}
