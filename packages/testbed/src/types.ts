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
  /** Unix user of this host (own home directory, `*` password field, no shell rc noise); the same
   * name on every host when `up` was given `sharedUser`. */
  user: string;
  /** The host's home folder on this machine's filesystem (what the user sees as `~` on this host). */
  home: string;
  /**
   * Set when the hosts share one unix user (`sharedUser`): that user's home as /etc/passwd names it.
   * The host's sshd runs in its own mount namespace where `home` is bind-mounted over this path, so
   * each host keeps its own clean home under the one user name.
   */
  homeMount?: string;
  /** Private key (ed25519) that logs in as `user` on this host. */
  identityFile: string;
  /** The sshd's pid file and log file (LogLevel VERBOSE: one "Accepted publickey" line per connection). */
  pidFile: string;
  logFile: string;
  /** When set, this host only accepts connections coming from the login host (ProxyJump tests). */
  behindLogin?: boolean;
  /** Name of the host to jump through (`tb-login`) when `behindLogin` is set. */
  jump?: string;
  /** Position of the host: 0, 1, ... (-1 for the login host). Always set by `up`. */
  index?: number;
  /** sshd_config and host key (private key; `.pub` beside it) of this host. Always set by `up`
   * (optional only so hand-made host records in tests stay short; default: beside pidFile). */
  configFile?: string;
  hostKeyFile?: string;
  /** Network namespace the sshd runs in (absent: this machine's root namespace). */
  netns?: string;
}

/** The network namespace made for the login host and the hosts behind it. */
export interface TestbedNetns {
  name: string;
  /** veth pair: one end in the root namespace, the other inside `name`. */
  vethRoot: string;
  vethNs: string;
  /** Addresses on the veth (a /30): root side, namespace side (the login host listens there). */
  rootAddress: string;
  nsAddress: string;
  prefixLength: number;
  /** The rate limit on vethRoot's egress (into the namespace), as given (`20mbit`); absent: none. */
  uplink?: string;
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
  /** First 6 hex chars of sha256(dir): makes user and namespace names unique per dir. */
  id: string;
  /** The options `up` was last called with (normalized). */
  options: Required<Omit<UpOptions, 'dir'>>;
  /** Unix users created by this testbed (removed by `down`). */
  users: string[];
  /** Network namespace created by this testbed (removed by `down`). */
  netns?: TestbedNetns;
  /** Client key pair authorized on every host (`identityFile` of each host). */
  identityFile: string;
  authorizedKeysFile: string;
  /** OpenSSH client files written by `up`: `ssh -F <sshConfigFile> tb-3` (ProxyJump included), host keys pinned. */
  sshConfigFile: string;
  knownHostsFile: string;
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
  /** Buckets the S3 server must have (created when missing). */
  s3Buckets?: string[];
  registry?: boolean;
  slurm?: boolean;
  /** First address: hosts get 127.0.1.1, 127.0.1.2, ... Default base `127.0.1.0`. */
  addressBase?: string;
  /** sshd port on each address. Default 2222. */
  port?: number;
  /**
   * A rate limit (`tc` token bucket, e.g. `20mbit`) on the veth from this machine into the login
   * host's namespace: traffic from the controller to the hosts behind the login host is slow, while
   * those hosts talk to each other at loopback speed (a laptop's uplink → a cluster). Needs `login`.
   * Default: none ('').
   */
  uplink?: string;
  /**
   * Every host (the login host included) logs in as ONE unix user name, as on CloudLab where every
   * project member has a login under the same name on every node; each host still has its own clean
   * home (`home`, bind-mounted over the user's home in the host's own mount namespace:
   * `TestbedHost.homeMount`). Default false: a user per host.
   */
  sharedUser?: boolean;
}
