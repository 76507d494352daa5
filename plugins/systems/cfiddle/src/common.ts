/** What cfiddle's two procedures share: the mode, command helpers, the head's address, the image repository, the Jupyter token. */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Host } from '@labrig/core';
import { ConfigError, addSecret } from '@labrig/core';
import type { Action, CodeSystemContext, SkipWhen } from '@labrig/system-kit';
import { modeOf, type CfiddleConfig } from './config.js';

export type Sys = CodeSystemContext<CfiddleConfig>;

/** Marks every line labrig adds to the exports file (teardown removes exactly these). */
export const EXPORTS_MARK = '# labrig:cfiddle';
/** The compose file labrig writes beside the seed's (the Jupyter token and worker placement). */
export const OVERRIDE_FILE = 'labrig-override.yml';
/**
 * Stamps labrig keeps on the head node (relative to its login user's home): what it labelled and
 * what it deployed, compared with the swarm's live state before a step is skipped.
 */
export const STAMP_DIR = '.labrig/cfiddle';
export const labelsStamp = (cfg: CfiddleConfig): string => `${STAMP_DIR}/node-labels-${cfg.stack.name}`;
export const stackStamp = (cfg: CfiddleConfig): string => `${STAMP_DIR}/stack-${cfg.stack.name}`;
/** Where the generated Jupyter token is kept in the workspace (mode 600), relative to the root. */
export const tokenFile = (sys: Sys): string => join('.labrig', 'state', 'cfiddle', sys.name, 'jupyter-token');

export function mode(sys: Sys): 'cluster' | 'slurm' {
  return modeOf(sys.config, sys.platform.platform.name);
}

/** Command helpers bound to the system file (env on every command, sudo for privileged ones). */
export function helpers(cfg: CfiddleConfig) {
  const envKeys = Object.keys(cfg.env);
  const withEnv = (argv: string[]): string[] => (envKeys.length ? ['env', ...envKeys.map((k) => `${k}=${cfg.env[k]}`), ...argv] : argv);
  const priv = (argv: string[], keep: string[] = []): string[] =>
    cfg.sudo ? ['sudo', '-n', ...(keep.length ? [`--preserve-env=${keep.join(',')}`] : []), ...argv] : argv;
  /** A privileged shell script; its arguments are "$1"... (nothing is interpolated). */
  const privSh = (script: string, ...args: string[]): string[] => priv(['sh', '-c', script, 'sh', ...args]);
  const run = (argv: string[], extra: Partial<Extract<Action, { kind: 'run' }>> = {}): Action => {
    const env = { ...cfg.env, ...(extra.env ?? {}) };
    return { kind: 'run', argv, ...extra, ...(Object.keys(env).length ? { env } : {}) };
  };
  /** Skip when this (privileged when asked) command succeeds. */
  const skipCmd = (argv: string[], what: string): SkipWhen => ({ kind: 'command', argv: withEnv(argv), what });
  return { withEnv, priv, privSh, run, skipCmd };
}

/** HEAD_ADDR: what the swarm advertises and the NFS volumes mount from. */
export function headAddress(cfg: CfiddleConfig, head: Host): string {
  return cfg.headAddress ?? head.privateAddress ?? head.address;
}

/** Where images go between the head and the workers: the platform's registry, else the file's. */
export async function imageRepo(sys: Sys): Promise<string> {
  const { platform, cfg, ctx } = sys.platform;
  const store = await platform.artifactStore?.(cfg, ctx);
  const repo = store?.registry?.address ?? sys.config.images.registry ?? sys.config.images.dockerhubUser;
  if (!repo) {
    throw new ConfigError(sys.file, 'images.registry', `the platform ${sys.platform.name} has no registry, and neither images.registry nor images.dockerhubUser is set: the workers cannot get the images`, {
      hint: 'Give the platform a registry ([store] registry = "host:port"), or set images.registry or images.dockerhubUser (then run `docker login` on the head node).',
    });
  }
  return repo;
}

/**
 * The Jupyter token: from the environment variable the system file names, else made once and kept
 * in the workspace. Pushed on sys.secrets and registered (core's addSecret): no log, journal or
 * output of the process shows it.
 */
export function jupyterToken(sys: Sys, dryRun: boolean | undefined): string {
  const fromEnv = process.env[sys.config.jupyter.tokenEnv];
  let token: string;
  if (fromEnv) token = fromEnv;
  else if (dryRun) return `<jupyter token: $${sys.config.jupyter.tokenEnv}, else ${tokenFile(sys)}>`;
  else {
    const file = join(sys.root, tokenFile(sys));
    if (existsSync(file)) token = readFileSync(file, 'utf8').trim();
    else {
      token = randomBytes(24).toString('hex');
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, `${token}\n`, { mode: 0o600 });
      chmodSync(file, 0o600);
    }
  }
  if (!sys.secrets.includes(token)) sys.secrets.push(token);
  addSecret(token);
  return token;
}

/** The compose override: the Jupyter token from the environment, tags, worker service c<i>-srv pinned to the i-th worker. */
export function overrideCompose(cfg: CfiddleConfig, workers: number): string {
  const tag = cfg.images.tag;
  const lines = [
    '# Written by labrig (@labrig/system-cfiddle): deployed together with the seed compose file.',
    '# JUPYTER_TOKEN and HEAD_ADDR come from the environment of `docker stack deploy` (never stored here).',
    'version: "3.7"',
    'services:',
    '  slurmdbd-srv:',
    `    image: cfiddle-cluster:${tag}`,
    '  slurmctld-srv:',
    `    image: cfiddle-cluster:${tag}`,
    '  userhost-srv:',
    `    image: cfiddle-user:${tag}`,
    '    command: ["start-notebook.sh", "--NotebookApp.token=${JUPYTER_TOKEN}"]',
    '  sandbox-dummy:',
    `    image: cfiddle-sandbox:${tag}`,
  ];
  for (let i = 1; i <= Math.min(workers, cfg.stack.workerServices); i++) {
    lines.push(`  c${i}-srv:`, `    image: cfiddle-cluster:${tag}`, '    deploy:', '      placement:', '        constraints:', `          - "node.labels.cfiddle_worker==c${i}"`);
  }
  return `${lines.join('\n')}\n`;
}
