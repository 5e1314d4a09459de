/**
 * A one-node Slurm cluster of its own, for the e2e test and the benchmark: munged, slurmctld and
 * slurmd (Debian's munge and slurm-wlm) started in a temporary folder with their own key, socket,
 * slurm.conf (SLURM_CONF), state, logs and free ports, so that nothing on the machine is used or
 * changed; stopped by their process ids. Needs root (slurmd starts jobs as their user).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import { delimiter, join } from 'node:path';
import { tempDir } from './tmp.js';

const DAEMONS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'sinfo'];

/** Where a command is, on PATH or in the sbin folders a non-login root shell may lack. */
function which(command: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const d of dirs) if (d && existsSync(join(d, command))) return join(d, command);
  return null;
}

/** Why a local cluster cannot be started here, or null when it can. */
export function slurmMissing(): string | null {
  const missing = DAEMONS.filter((c) => !which(c));
  if (missing.length) {
    return `${missing.join(', ')} not found: install Debian's slurm-wlm and munge (npm test does, as root)`;
  }
  if (process.getuid?.() !== 0) return 'starting slurmd needs root (CI runs the tests as root)';
  return null;
}

export interface SlurmCluster {
  dir: string;
  /** The environment the Slurm commands (and the jobs) need: SLURM_CONF. */
  env: NodeJS.ProcessEnv;
  cpus: number;
  /** Runs a Slurm client command (sbatch, sinfo, …); its stdout, or throws with its stderr. */
  run(command: string, args: string[]): string;
  /** The daemons' logs, for a failure message. */
  logs(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startSlurm(): Promise<SlurmCluster> {
  const dir = tempDir();
  for (const d of ['state', 'spool']) mkdirSync(join(dir, d));
  const key = join(dir, 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o400 });
  const socket = join(dir, 'munge.socket');
  const node = hostname().split('.')[0];
  const cpus = availableParallelism();
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=scnymtest',
      `SlurmctldHost=${node}`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'SlurmUser=root',
      'SlurmdUser=root',
      'ReturnToService=2',
      'MpiDefault=none',
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'slurmd.log')}`,
      // The node's CPUs and memory as written here, not as probed.
      'SlurmdParameters=config_overrides',
      `NodeName=${node} CPUs=${cpus} RealMemory=1000 State=UNKNOWN`,
      `PartitionName=main Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  const daemons: ChildProcess[] = [];
  const start = (command: string, args: string[]) => {
    const child = spawn(which(command)!, args, {
      env,
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    daemons.push(child);
    return child;
  };
  const cluster: SlurmCluster = {
    dir,
    env,
    cpus,
    run(command, args) {
      const r = spawnSync(which(command)!, args, { env, encoding: 'utf8', timeout: 30_000 });
      if (r.status !== 0) {
        throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
      }
      return r.stdout;
    },
    logs() {
      return ['slurmctld.log', 'slurmd.log']
        .map((f) => join(dir, f))
        .filter((f) => existsSync(f))
        .map((f) => `--- ${f}\n${readFileSync(f, 'utf8').split('\n').slice(-30).join('\n')}`)
        .join('\n');
    },
    async stop() {
      // Newest first: slurmd, slurmctld, then munged; each by the id we started it with.
      for (const child of [...daemons].reverse()) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const stopped = await Promise.race([exited.then(() => true), sleep(10_000)]);
        if (!stopped) child.kill('SIGKILL');
      }
    },
  };
  try {
    start('munged', [
      '--foreground',
      '--force',
      `--socket=${socket}`,
      `--key-file=${key}`,
      `--pid-file=${join(dir, 'munged.pid')}`,
      `--seed-file=${join(dir, 'munged.seed')}`,
      `--log-file=${join(dir, 'munged.log')}`,
    ]);
    await until(() => existsSync(socket), 'munged to listen');
    start('slurmctld', ['-D', '-c', '-f', conf]);
    start('slurmd', ['-D', '-f', conf]);
    await until(() => {
      const r = spawnSync(which('sinfo')!, ['-h', '-o', '%T'], { env, encoding: 'utf8' });
      return r.status === 0 && r.stdout.trim() === 'idle';
    }, 'the node to be idle');
  } catch (err) {
    await cluster.stop();
    throw new Error(`${(err as Error).message}\n${cluster.logs()}`);
  }
  return cluster;
}

/** Polls `ready` every 200 ms for at most `ms`. */
export async function until(ready: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(200);
  }
}
