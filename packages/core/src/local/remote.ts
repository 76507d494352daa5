/**
 * A Remote that runs on this machine. Commands go through the same command line as over SSH
 * (`cd DIR && env K=V argv…`, run with `sh -c`), in their own process group.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { formatCommandLine } from '../command-line.js';
import { quoteArg, shellArgv } from '../quote.js';
import { Unsupported } from '../errors.js';
import type {
  ExecOptions,
  ExecResult,
  Host,
  Remote,
  RunningCommand,
  TransferOptions,
  TransferResult,
} from '../contracts.js';
import { spawnShell } from './process.js';
import { copyFileVerified, copyTreeVerified } from './transfer.js';

export interface LocalRemoteOptions {
  /** Shell for `-c`. Default `sh`. */
  shell?: string;
  /**
   * The host's "home": default working directory of commands and base of relative paths in
   * transfers. Created on first use. Default: the coordinator's current directory.
   */
  home?: string;
  /** Time between TERM and KILL when a command is aborted. Default 2000 ms. */
  killGraceMs?: number;
}

export class LocalRemote implements Remote {
  private homeReady: Promise<void> | undefined;

  constructor(
    readonly host: Host,
    private readonly opts: LocalRemoteOptions = {},
  ) {}

  /** Absolute path for a "remote" path (relative ones are under the host's home). */
  resolvePath(p: string): string {
    return path.resolve(this.opts.home ?? process.cwd(), p);
  }

  private ensureHome(): Promise<void> {
    if (!this.opts.home) return Promise.resolve();
    this.homeReady ??= mkdir(this.opts.home, { recursive: true }).then(() => undefined);
    return this.homeReady;
  }

  private start(argv: readonly string[], opts: ExecOptions, keepStdinOpen: boolean): RunningCommand {
    if (opts.pty) {
      throw new Unsupported(
        'a pseudo-terminal (pty: true)',
        `the local runner (host ${this.host.name})`,
        'Run the command without `pty`, or on an SSH host.',
      );
    }
    const line = formatCommandLine(argv, { cwd: opts.cwd, env: opts.env });
    const { cwd: _c, env: _e, pty: _p, ...rest } = opts;
    const full = this.opts.home ? `cd ${quoteArg(this.opts.home)} && ${line}` : line;
    return spawnShell(full, {
      ...rest,
      host: this.host.name,
      display: line,
      shell: this.opts.shell ?? 'sh',
      keepStdinOpen,
      killGraceMs: this.opts.killGraceMs,
    });
  }

  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    await this.ensureHome();
    return this.start(argv, opts, false).result;
  }

  spawn(argv: readonly string[], opts: ExecOptions = {}): RunningCommand {
    if (!this.opts.home) return this.start(argv, opts, true);
    // The home directory may not exist yet: start once it does, buffering writes meanwhile.
    const pending: ((c: RunningCommand) => void)[] = [];
    let cmd: RunningCommand | undefined;
    const result = this.ensureHome().then(() => {
      cmd = this.start(argv, opts, true);
      for (const f of pending.splice(0)) f(cmd);
      return cmd.result;
    });
    const later = (f: (c: RunningCommand) => void): void => (cmd ? f(cmd) : void pending.push(f));
    return {
      write: (d) => later((c) => c.write(d)),
      // Before the command starts, writes wait in `pending`; the first drain after it starts waits for real.
      drain: () => (cmd ? cmd.drain() : Promise.resolve()),
      end: () => later((c) => c.end()),
      kill: (s) => later((c) => c.kill(s)),
      result,
    };
  }

  shell(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(shellArgv(script), opts);
  }

  async putFile(localPath: string, remotePath: string, opts: TransferOptions = {}): Promise<TransferResult> {
    await this.ensureHome();
    return copyFileVerified(localPath, this.resolvePath(remotePath), opts);
  }

  async putDir(localDir: string, remoteDir: string, opts: TransferOptions = {}): Promise<TransferResult> {
    await this.ensureHome();
    return copyTreeVerified(localDir, this.resolvePath(remoteDir), opts);
  }

  async getFile(remotePath: string, localPath: string, opts: TransferOptions = {}): Promise<TransferResult> {
    await this.ensureHome();
    return copyFileVerified(this.resolvePath(remotePath), localPath, opts);
  }
}
