/**
 * The contracts every platform and system plugin implements. See docs/architecture.md.
 * Kept free of runtime dependencies: transports (packages/ssh) and the engine build on them.
 */

/** A machine labrig acts on. */
export interface Host {
  /** Unique, stable name within an inventory (e.g. `node0`, `tb-3`). */
  name: string;
  /** Address to connect to (IP or DNS name). */
  address: string;
  /** SSH port. Default 22. */
  port?: number;
  /** Login user. */
  user?: string;
  /** Roles this host plays (e.g. `leader`, `worker`). */
  roles: string[];
  /** Free-form labels (platform facts, e.g. `numaNodes = "2"`). */
  labels: Record<string, string>;
  /** Address the system binds to inside the cluster (CloudLab 10.10/16, EC2 private IP). */
  privateAddress?: string;
  /** Private key files to try, in order. */
  identityFiles?: string[];
  /** A bastion/login host reached first (ProxyJump). */
  jump?: Host;
}

/** Result of one command on one host. */
export interface ExecResult {
  exitCode: number | null;
  /** Signal name when the remote process was killed by one. */
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface ExecOptions {
  /** Working directory on the remote (quoted, prepended as `cd DIR &&`). */
  cwd?: string;
  /** Environment for the command (set with `env K=V ...`, quoted). */
  env?: Record<string, string>;
  /** Allocate a pseudo-terminal (stdout and stderr are merged by the terminal). */
  pty?: boolean;
  /** Bytes written to the command's stdin, then stdin is closed. */
  stdin?: string | Buffer;
  /** Streamed output (in addition to the collected strings). */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Aborting kills the remote command (signal, then channel close). */
  signal?: AbortSignal;
  /** Do not throw CommandFailed on a non-zero exit; return the result. */
  allowFailure?: boolean;
  /**
   * stdout holds a secret not known before the command ran (a join token it prints): the step
   * log records that it was withheld instead of the bytes (stderr is still logged).
   */
  secretOutput?: boolean;
}

/** A connected host: what steps use to act on it. Implemented by packages/ssh (and by local runners). */
export interface Remote {
  readonly host: Host;
  /** Run argv (quoted with `quote`) and wait. Throws CommandFailed on non-zero exit unless allowFailure. */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Start argv and return at once: stdin stays open until `end()` (answer a prompt with `write`).
   * `result` settles like `exec` (CommandFailed on non-zero exit unless allowFailure).
   */
  spawn(argv: readonly string[], opts?: ExecOptions): RunningCommand;
  /** Run a shell script text with `sh -c` (the script is one argv element; nothing is interpolated). */
  shell(script: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Copy a local file to the remote path; skipped when the remote sha256 matches. */
  putFile(localPath: string, remotePath: string, opts?: TransferOptions): Promise<TransferResult>;
  /**
   * Mirror a local directory tree to a remote directory: afterwards it holds exactly that tree (what
   * only the remote had is gone), verified by tree digest (`digestTree`, which is also the result's
   * `sha256`); skipped when it already holds that tree.
   */
  putDir(localDir: string, remoteDir: string, opts?: TransferOptions): Promise<TransferResult>;
  /** Copy a remote file to a local path, verified by sha256. */
  getFile(remotePath: string, localPath: string, opts?: TransferOptions): Promise<TransferResult>;
}

export interface RunningCommand {
  write(data: string | Buffer): void;
  /**
   * Resolves once the command can take more input (what was written is on its way, not piling up
   * here) or it has ended: `await drain()` after each chunk keeps a large stream's memory bounded.
   */
  drain(): Promise<void>;
  /** Close stdin. */
  end(): void;
  /** Send a signal to the remote process (default TERM), then close the channel. */
  kill(signal?: string): void;
  readonly result: Promise<ExecResult>;
}

export interface TransferOptions {
  /** File transfer method. Default `sftp` for files. */
  method?: 'sftp' | 'exec';
  /** File mode to set on the remote file. */
  mode?: number;
  signal?: AbortSignal;
  onProgress?: (bytes: number, total: number) => void;
}

export interface TransferResult {
  /** false when the remote already had the same digest. */
  transferred: boolean;
  bytes: number;
  sha256: string;
}

/**
 * Opens Remotes. The engine asks at every attempt of every step on a host; implementations
 * pool connections (hand back the same live Remote, reconnect when it died).
 */
export interface Connector {
  connect(host: Host, signal?: AbortSignal): Promise<Remote>;
  /** Close every connection. */
  close(): Promise<void>;
}

/** What a step's run/check receives for one host. */
export interface StepContext {
  host: Host;
  remote: Remote;
  /** Outputs of earlier steps: `outputs[stepName][hostName]`. */
  outputs: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** All hosts of the run (e.g. to find the leader). */
  hosts: readonly Host[];
  /** Aborted on timeout, fail-fast or interrupt. */
  signal: AbortSignal;
  /** Write a line to this host's step log (redacted). */
  log: (line: string) => void;
  /** Show where a long action is (in the host's progress row; not logged). Throttle before calling. */
  progress?: (text: string) => void;
  /** Attempt number, 1-based. */
  attempt: number;
  /** Hide a value learnt during the run (a captured token) from every later log, event and output. */
  addSecret?: (value: string) => void;
}

/** A named action on a set of hosts. */
export interface Step<Out = unknown> {
  name: string;
  /** Human description for progress output. */
  title?: string;
  /** Which hosts: role names (any of), a predicate, or all when omitted. */
  hosts?: string[] | ((host: Host) => boolean);
  /** Already done on this host? Then skip. May return the step's output for later steps. */
  check?: (ctx: StepContext) => Promise<boolean | { done: true; output?: Out }>;
  run: (ctx: StepContext) => Promise<Out | void>;
  /** Extra attempts after the first failure (retryable errors only). Default 0. */
  retries?: number;
  /** Per host and attempt, in ms. Default: the engine's. */
  timeoutMs?: number;
  /** Max hosts at once for this step. Default: the engine's. */
  concurrency?: number;
  /**
   * Which failures are retried (up to `retries`): `retryable` (default) retries only errors
   * marked retryable (HostUnreachable, StepTimeout); a failed command (CommandFailed) or an
   * unexpected exception is not retried. `any` retries every failure except an abort.
   */
  retryOn?: 'retryable' | 'any';
  /** Run once on the coordinator (host `local`, commands in the workspace root) instead of on hosts. */
  local?: boolean;
}

/** A step on every host of one role set, run in order. Phases are lists of them. */
export type Phase = Step[];

/** The platform contract: where things run. */
export interface Platform<Cfg = unknown> {
  name: string;
  /** JSON Schema of the platform file (configs/platforms/<name>/platform.toml). */
  configSchema: object;
  /** The hosts of this deployment. Must not change the world (no host is contacted). */
  inventory(cfg: Cfg, ctx: PlatformContext): Promise<Host[]>;
  /** Opens connections to this platform's hosts (an SSH pool for SSH platforms). */
  createConnector(cfg: Cfg, ctx: PlatformContext): Connector;
  /** Engine defaults from the platform file (concurrency, timeout, failure policy, retries). */
  runDefaults?(cfg: Cfg): RunDefaults;
  /** Create machines (cloud) or check they answer. State under `.labrig/state/`. */
  provision?(cfg: Cfg, ctx: PlatformContext): Promise<Host[]>;
  /** Release exactly what provision created; idempotent. */
  teardown?(cfg: Cfg, ctx: PlatformContext): Promise<void>;
  /** Platform quirks applied to each host before a system's setup (state under `ctx.stateDir`). */
  prepare?(cfg: Cfg, ctx: PlatformContext): Step[];
  /** Where artifacts go (S3 bucket, registry); undefined when the platform has none. */
  artifactStore?(cfg: Cfg, ctx: PlatformContext): Promise<ArtifactStoreConfig | undefined>;
  /** How long-lived processes start on this platform. */
  launcher?: Launcher;
  /**
   * Called before a long run (an experiment sweep, here or handed to a coordinator) with how long
   * it is expected to take: a platform whose machines expire (a CloudLab experiment) compares that
   * with their expiry, and warns or extends them. It must not fail the run for a warning.
   */
  beforeLongRun?(cfg: Cfg, ctx: PlatformContext, run: LongRun): Promise<void>;
  /**
   * Bring back a host that stopped answering (a reboot through the platform's API, then wait for
   * SSH). The engine asks once per host per run. Resolves undefined when the platform is not set
   * to (nothing is journaled then).
   */
  recoverHost?(cfg: Cfg, ctx: PlatformContext, host: Host, why: string, signal: AbortSignal): Promise<{ ok: boolean; action: string; detail?: string } | undefined>;
  /** When the machines expire, as last recorded here (no remote call): shown by experiment-status and the dashboard. */
  expiry?(cfg: Cfg, ctx: PlatformContext): Promise<{ what: string; expiresAt: string } | undefined>;
  /**
   * What a host that runs a long run without this machine (a sweep's coordinator) needs to watch
   * the machines' expiry, and to extend them by itself when the platform is set to: read now (the
   * platform may ask its API). Undefined: nothing expires.
   */
  expiryHandOff?(cfg: Cfg, ctx: PlatformContext, run: LongRun): Promise<ExpiryHandOff | undefined>;
}

/** The machines' expiry as handed to a coordinator (Platform.expiryHandOff). */
export interface ExpiryHandOff {
  /** What expires, for messages (`CloudLab experiment labrig-test/demo`). */
  what: string;
  /** When (ISO 8601). */
  expiresAt: string;
  /** Kept free between the run's estimated end and the expiry. */
  marginMs: number;
  /** The command that extends it from this machine (named in warnings). */
  extendCommand: string;
  /** How often the host reads the expiry again (when it can: `extend.statusUrl`), so a change made elsewhere is seen. */
  refreshMs?: number;
  /** How the host extends it by itself; absent: it warns only. */
  extend?: ExtendRequest;
}

/**
 * One HTTP request that extends the machines by `{{hours}}` hours (the placeholder in `url` or
 * `body`). Its JSON answer carries the new expiry at `expiresAtField`; an answer without a later
 * one (or 202) means the extension waits for someone (an administrator).
 */
export interface ExtendRequest {
  method: 'PUT' | 'POST' | 'PATCH';
  url: string;
  /** Plain headers (content type). */
  headers: Record<string, string>;
  body?: string;
  /** Headers whose values are secrets (a token): they reach the host in the environment of the shell that starts it, never in a file. */
  secretHeaders: Record<string, string>;
  expiresAtField: string;
  /** Read (GET, the same secret headers) before extending: its JSON's `expiresAtField` is the expiry now, so one moved elsewhere (by hand, or by this machine) is not extended again. */
  statusUrl?: string;
  /** Hours at most, in all, the host may add. */
  maxHours: number;
}

export interface LongRun {
  /** What runs, for messages (`plan demo-sweep: 12 runs`). */
  what: string;
  /** Expected duration from now. */
  estimatedMs: number;
  /** Whether the estimate is an upper bound (no run has finished yet: the plan's timeout per run). */
  upperBound: boolean;
  log: (line: string) => void;
  /** Checked again while the run goes on: say only what needs attention (no "fine" line). */
  during?: boolean;
  /** Hours the platform has extended the machines by for this run so far (it adds to it): a bound on extensions spans the whole run. */
  extendedHours?: { value: number };
}

export interface RunDefaults {
  concurrency?: number;
  timeoutMs?: number;
  /** `fail-fast | continue | max-fail=N%`. */
  failurePolicy?: string;
  retries?: number;
}

export interface PlatformContext {
  /** Workspace root. */
  root: string;
  /** `.labrig/state/<platform>` for state this platform keeps. */
  stateDir: string;
  signal?: AbortSignal;
  /** The user confirmed a destructive action (`--yes`): a teardown that would release machines someone asked for. */
  confirmed?: boolean;
}

export interface ArtifactStoreConfig {
  s3?: {
    bucket: string;
    endpoint?: string;
    region?: string;
    prefix?: string;
    forcePathStyle?: boolean;
    /** Only for test servers; real platforms leave it out and the standard AWS chain applies. */
    credentials?: { accessKeyId: string; secretAccessKey: string };
  };
  /** `host:port` of an OCI registry. */
  registry?: { address: string; insecure?: boolean };
}

/** Starts and stops long-lived processes (background over SSH, srun/sbatch on Slurm). */
export interface Launcher {
  /** Start the process unless one of that name runs already (then CommandFailed). */
  start(remote: Remote, spec: ProcessSpec, signal?: AbortSignal): Promise<ProcessStatus>;
  /** Stop it (TERM to its process group, then KILL after `graceMs`); safe when it is not running. */
  stop(remote: Remote, name: string, opts?: { graceMs?: number; signal?: AbortSignal }): Promise<{ wasRunning: boolean }>;
  status(remote: Remote, name: string, signal?: AbortSignal): Promise<ProcessStatus>;
}

export interface ProcessSpec {
  /** Unique per host (e.g. `demo-server`): names its pid, stamp and log files. */
  name: string;
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** What runs (e.g. a digest of the binaries and arguments); `status` reports it back. */
  stamp?: string;
}

export interface ProcessStatus {
  name: string;
  running: boolean;
  pid?: number;
  /** When it is not running: the exit status it ended with, if known. */
  exitCode?: number;
  stamp?: string;
  /** The process's stdout+stderr on the host. */
  logFile: string;
}

/** The system contract: what runs. */
export interface System<Cfg = unknown> {
  name: string;
  configSchema: object;
  roles: string[];
  build?(cfg: Cfg): Phase;
  push?(cfg: Cfg): Phase;
  setup?(cfg: Cfg): Phase;
  deploy?(cfg: Cfg): Phase;
  stop?(cfg: Cfg): Phase;
  status?(cfg: Cfg): Phase;
  collect?(cfg: Cfg): Phase;
}
