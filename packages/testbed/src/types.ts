/**
 * The testbed: real services on this machine's loopback, for the `local` platform, tests and benches.
 * State lives in a directory (default `.labrig/testbed/` under the workspace root).
 */

export interface TestbedHost {
  /** `tb-0`, `tb-1`, ... (`tb-login` for the login host). */
  name: string;
  /** Loopback address the host's sshd listens on, e.g. 127.0.1.1 (one address per host). */
  address: string;
  /** sshd port on that address. */
  port: number;
  /** Unix user of this host (own home directory, `*` password field, no shell rc noise). */
  user: string;
  home: string;
  /** Private key (ed25519) that logs in as `user` on this host. */
  identityFile: string;
  /** The sshd's pid file and log file (LogLevel VERBOSE: one "Accepted publickey" line per connection). */
  pidFile: string;
  logFile: string;
  /** When set, this host only accepts connections coming from the login host (ProxyJump tests). */
  behindLogin?: boolean;
}

export interface TestbedS3 {
  endpoint: string; // http://127.0.0.1:PORT
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Buckets created at start. */
  buckets: string[];
}

export interface TestbedRegistry {
  /** host:port of the OCI registry (Debian docker-registry), plain HTTP on loopback. */
  address: string;
  url: string; // http://127.0.0.1:PORT
}

export interface TestbedSlurm {
  /** Name of the testbed host acting as the cluster's login node (has sinfo/srun/sbatch in PATH). */
  loginHost: string;
  clusterName: string;
  partition: string;
  /** Compute node names as Slurm knows them. */
  nodes: string[];
  /** slurm.conf used (SLURM_CONF must point at it for the client commands). */
  confFile: string;
}

export interface TestbedState {
  version: 1;
  dir: string;
  hosts: TestbedHost[];
  /** A login/bastion host; hosts with behindLogin are reachable only through it. */
  login?: TestbedHost;
  s3?: TestbedS3;
  registry?: TestbedRegistry;
  slurm?: TestbedSlurm;
}

export interface UpOptions {
  /** State directory. Default `<root>/.labrig/testbed`. */
  dir: string;
  /** Number of hosts. */
  hosts: number;
  /** Add a login host and put hosts behind it (`behindLogin`) — default false. */
  login?: boolean;
  /** Number of hosts (the last N) reachable only through the login host. Default 0. */
  hostsBehindLogin?: number;
  s3?: boolean;
  registry?: boolean;
  slurm?: boolean;
  /** First address: hosts get 127.0.1.1, 127.0.1.2, ... Default base `127.0.1.0`. */
  addressBase?: string;
  /** sshd port on each address. Default 2222. */
  port?: number;
}
