/**
 * Test fixture (test-only: not part of the build's API): a stand-in for nodejs.org/dist serving a
 * fixture tarball. At start it builds a real `node-<version>-linux-<arch>.tar.xz` (tar -cJf) whose
 * `node-<version>-linux-<arch>/bin/node` is a small sh script: it answers `-v`/`--version` with the
 * fixture's version itself and runs this machine's own node (process.execPath) for anything else,
 * so an "installed" node really runs. Beside it, SHASUMS256.txt lists the tarball's real sha256
 * (a wrong one with `corrupt`) among a few other lines, like the real file. Served over plain HTTP
 * on 127.0.0.1 (port 0: loopback only) under `/<version>/...`; every request's path is recorded.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { quoteArg } from '@labrig/core';

export interface NodeDistServerOptions {
  /** e.g. 'v99.0.0' (what the fixture's node prints for -v). */
  version: string;
  /** Node's architecture name. Default 'x64'. */
  arch?: string;
  /** A folder the tarball and SHASUMS256.txt are built in. */
  dir: string;
  /** List a wrong sha256 for the tarball. */
  corrupt?: boolean;
}

export interface NodeDistServer {
  /** http://127.0.0.1:PORT (the dist base URL). */
  url: string;
  /** Paths requested, in order (e.g. `/v99.0.0/SHASUMS256.txt`). */
  requests: string[];
  /** The tarball's file name. */
  tarball: string;
  /** The tarball's real sha256, and the one SHASUMS256.txt lists (they differ with `corrupt`). */
  sha256: string;
  listedSha256: string;
  close(): Promise<void>;
}

export async function startNodeDistServer(o: NodeDistServerOptions): Promise<NodeDistServer> {
  const arch = o.arch ?? 'x64';
  const tree = `node-${o.version}-linux-${arch}`;
  const tarball = `${tree}.tar.xz`;
  const build = join(o.dir, 'build');
  const served = join(o.dir, o.version);
  mkdirSync(join(build, tree, 'bin'), { recursive: true });
  mkdirSync(served, { recursive: true });
  const nodeScript = join(build, tree, 'bin', 'node');
  writeFileSync(
    nodeScript,
    [
      '#!/bin/sh',
      '# labrig test fixture standing in for an official Node build',
      `if [ "$1" = -v ] || [ "$1" = --version ]; then echo ${quoteArg(o.version)}; exit 0; fi`,
      `exec ${quoteArg(process.execPath)} "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(nodeScript, 0o755);
  await execa('tar', ['-cJf', join(served, tarball), '-C', build, tree]);
  const sha256 = createHash('sha256').update(readFileSync(join(served, tarball))).digest('hex');
  const listedSha256 = o.corrupt ? createHash('sha256').update(`not ${tarball}`).digest('hex') : sha256;
  const other = (name: string): string => `${createHash('sha256').update(name).digest('hex')}  ${name}`;
  writeFileSync(
    join(served, 'SHASUMS256.txt'),
    [other(`node-${o.version}-darwin-arm64.tar.gz`), `${listedSha256}  ${tarball}`, other(`${tree}.tar.gz`), other(`node-${o.version}.tar.gz`), ''].join('\n'),
  );

  const files = new Map<string, string>([
    [`/${o.version}/SHASUMS256.txt`, join(served, 'SHASUMS256.txt')],
    [`/${o.version}/${tarball}`, join(served, tarball)],
  ]);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push(path);
    const file = req.method === 'GET' || req.method === 'HEAD' ? files.get(path) : undefined;
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-type': path.endsWith('.txt') ? 'text/plain' : 'application/x-xz', 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    tarball,
    sha256,
    listedSha256,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
