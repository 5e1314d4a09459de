/** Runs the built `scnym` CLI (npm test builds it first) and returns its exit status and output. */
import { spawnSync } from 'node:child_process';
import { CLI, REPO } from './paths.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runScnym(args: string[], timeoutMs = 600_000): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: REPO,
    timeout: timeoutMs,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
