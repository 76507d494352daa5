/**
 * `node <program> link <socket>`: stdin to the socket, the socket to stdout, until either ends.
 * Run over an SSH channel, it lets a client on another machine speak the link protocol to an
 * engine on this host (the coordinator) with the same frames as to a local agent.
 */
import { connect } from 'node:net';

export function bridgeLink(socketPath: string): Promise<number> {
  return new Promise((resolve) => {
    const s = connect(socketPath);
    s.once('error', (err: NodeJS.ErrnoException) => {
      process.stderr.write(`labrig-engine link: cannot connect to ${socketPath}: ${err.code ?? err.message}\n`);
      resolve(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 3 : 1);
    });
    s.once('connect', () => {
      process.stdin.pipe(s);
      s.pipe(process.stdout);
      s.once('close', () => resolve(0));
      process.stdin.once('end', () => s.end());
    });
  });
}
