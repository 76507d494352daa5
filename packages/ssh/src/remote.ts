/** SshRemote: the core `Remote` over a pooled SSH connection (reopened by the pool if it dropped). */
import type { ExecOptions, ExecResult, Host, Remote, RunningCommand, TransferOptions, TransferResult } from '@labrig/core';
import { shellArgv } from '@labrig/core';
import type { Connection } from './connection.js';
import { startCommand } from './exec.js';
import type { CommandExtras, CommandTarget } from './exec.js';
import type { ResolvedHost } from './resolve-host.js';
import { getFile, putDir, putFile } from './transfer.js';
import type { TransferTarget } from './transfer.js';

export class SshRemote implements Remote {
  private readonly target: CommandTarget & TransferTarget;

  constructor(
    readonly host: Host,
    /** Where this remote leads (after ssh config and jumps). */
    readonly resolved: ResolvedHost,
    getConnection: (signal?: AbortSignal) => Promise<Connection>,
  ) {
    const address = `${resolved.address}:${resolved.port}`;
    this.target = {
      hostName: host.name,
      address,
      getConnection,
      run: (argv, opts, extras) => startCommand(this.target, argv, opts, extras).result,
    };
  }

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return startCommand(this.target, argv, opts).result;
  }

  spawn(argv: readonly string[], opts: ExecOptions = {}): RunningCommand {
    return startCommand(this.target, argv, opts, { keepStdinOpen: true });
  }

  shell(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(shellArgv(script), opts);
  }

  /** exec with the internal streaming extras (used by transfers). */
  run(argv: readonly string[], opts: ExecOptions = {}, extras: CommandExtras = {}): Promise<ExecResult> {
    return startCommand(this.target, argv, opts, extras).result;
  }

  putFile(localPath: string, remotePath: string, opts: TransferOptions = {}): Promise<TransferResult> {
    return putFile(this.target, localPath, remotePath, opts);
  }

  putDir(localDir: string, remoteDir: string, opts: TransferOptions = {}): Promise<TransferResult> {
    return putDir(this.target, localDir, remoteDir, opts);
  }

  getFile(remotePath: string, localPath: string, opts: TransferOptions = {}): Promise<TransferResult> {
    return getFile(this.target, remotePath, localPath, opts);
  }
}
