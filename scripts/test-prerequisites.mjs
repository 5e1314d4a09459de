#!/usr/bin/env node
// The first step of `npm test`: installs what the tests need on a fresh Debian machine with
// Node 20. Runs before anything needs node_modules, so it uses nothing but Node itself.
//   - the Debian packages below, with apt-get when root or `sudo -n` works; otherwise it prints
//     one line naming the missing packages and the command that installs them, and fails;
//   - the npm packages (`npm ci`) when node_modules is missing.
// Without dpkg (not Debian) it checks the commands and Python modules the packages provide and
// goes on only if they are all there.
// SCNYM_TEST_APT_PACKAGES="a b" replaces the package list (to try this script itself).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The Debian packages the tests need, and what each provides (checked where there is no dpkg).
 * Python: the tests write fixtures with real anndata and read back what scNym wrote; hdf5plugin,
 * zstandard and lz4 write the .h5ad files compressed with HDF5 filter plugins. Chromium (driven by
 * playwright-core, never downloaded) and its fonts run the viewer's e2e tests. The VS Code e2e
 * test installs code-server from npm: its native modules build with build-essential, pkg-config
 * and libkrb5-dev, and Debian's rg stands in for the one @vscode/ripgrep would download from
 * GitHub. wabt's wat2wasm checks that the committed SIMD kernel is its .wat source assembled.
 * slurm-wlm and munge give the one-node Slurm cluster the sharded-prediction e2e test starts
 * itself (test/helpers/slurm.ts).
 */
export const APT_PACKAGES = [
  { name: 'python3-anndata', python: 'anndata' },
  { name: 'python3-zarr', python: 'zarr' },
  { name: 'python3-h5py', python: 'h5py' },
  { name: 'python3-numcodecs', python: 'numcodecs' },
  { name: 'python3-scipy', python: 'scipy' },
  { name: 'python3-pandas', python: 'pandas' },
  { name: 'python3-hdf5plugin', python: 'hdf5plugin' },
  { name: 'python3-zstandard', python: 'zstandard' },
  { name: 'python3-lz4', python: 'lz4' },
  { name: 'chromium', command: process.env.SCNYM_CHROMIUM ?? 'chromium' },
  { name: 'fonts-liberation' },
  { name: 'build-essential', command: 'make' },
  { name: 'pkg-config', command: 'pkg-config' },
  { name: 'libkrb5-dev', command: 'krb5-config' },
  { name: 'ripgrep', command: 'rg' },
  { name: 'wabt', command: 'wat2wasm' },
  { name: 'slurm-wlm', command: 'slurmctld' },
  { name: 'munge', command: 'munged' },
];

/** What a package provides, in words (for a machine without dpkg). */
function provides(pkg) {
  if (pkg.python) return `Python module ${pkg.python} (Debian: ${pkg.name})`;
  if (pkg.command) return `${pkg.command} (Debian: ${pkg.name})`;
  return pkg.name;
}

/**
 * What to do about the packages, given what was found. `missing`: the packages not installed
 * (with dpkg) or whose command or module was not found (without); `unchecked`: without dpkg, the
 * packages that provide nothing to look for. Returns `{action: 'none'}`, `{action: 'install',
 * commands}` (argv lists to run in order) or `{action: 'stop', message}` (one line).
 */
export function decide({ missing, unchecked = [], dpkg, root, sudo }) {
  const names = missing.map((p) => p.name);
  if (!dpkg) {
    if (missing.length === 0) {
      const note = unchecked.length
        ? ` (not checked: ${unchecked.map((p) => p.name).join(', ')})`
        : '';
      return {
        action: 'none',
        message: `test prerequisites: no dpkg here; found every command and Python module the tests use${note}`,
      };
    }
    return {
      action: 'stop',
      message: `test prerequisites: not found: ${missing.map(provides).join(', ')}; install them with your system's package manager`,
    };
  }
  if (missing.length === 0) return { action: 'none' };
  if (root || sudo) {
    const apt = root
      ? ['apt-get']
      : ['sudo', '-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get'];
    const install = ['install', '-y', '-qq', '--no-install-recommends', ...names];
    return {
      action: 'install',
      commands: [
        [...apt, 'update', '-qq'],
        [...apt, ...install],
      ],
    };
  }
  return {
    action: 'stop',
    message: `test prerequisites: missing Debian packages ${names.join(' ')}; install them with: sudo apt-get install -y --no-install-recommends ${names.join(' ')}`,
  };
}

/** The packages dpkg does not list as installed. */
function notInstalled(packages) {
  const run = spawnSync(
    'dpkg-query',
    ['-W', '-f=${Package} ${Status}\n', ...packages.map((p) => p.name)],
    {
      encoding: 'utf8',
    },
  );
  const installed = new Set(
    run.stdout
      .split('\n')
      .filter((line) => line.endsWith(' install ok installed'))
      .map((line) => line.split(' ')[0]),
  );
  return packages.filter((p) => !installed.has(p.name));
}

function onPath(command) {
  if (command.includes('/')) return existsSync(command);
  return (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir && existsSync(join(dir, command)));
}

/** Without dpkg: the packages whose command or Python module is not found. */
function notFound(packages) {
  // As test/helpers/paths.ts picks it.
  const python =
    process.env.SCNYM_TEST_PYTHON ??
    (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const modules = packages.filter((p) => p.python).map((p) => p.python);
  const found = spawnSync(
    python,
    [
      '-c',
      'import importlib.util, sys; print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m)))',
      ...modules,
    ],
    { encoding: 'utf8' },
  );
  const haveModules = new Set((found.stdout ?? '').trim().split(' '));
  return packages.filter((p) =>
    p.python ? !haveModules.has(p.python) : p.command ? !onPath(p.command) : false,
  );
}

function run(argv, env = {}) {
  console.log(`test prerequisites: ${argv.join(' ')}`);
  const r = spawnSync(argv[0], argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  return r.status === 0;
}

function main() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const override = process.env.SCNYM_TEST_APT_PACKAGES;
  const packages = override
    ? override
        .split(/\s+/)
        .filter(Boolean)
        .map((name) => APT_PACKAGES.find((p) => p.name === name) ?? { name })
    : APT_PACKAGES;

  const dpkg = onPath('dpkg-query');
  const missing = dpkg ? notInstalled(packages) : notFound(packages);
  const unchecked = dpkg ? [] : packages.filter((p) => !p.python && !p.command);
  const isRoot = process.getuid?.() === 0;
  const sudo = !isRoot && missing.length > 0 && spawnSync('sudo', ['-n', 'true']).status === 0;
  const plan = decide({ missing, unchecked, dpkg, root: isRoot, sudo });
  if (plan.message) console.log(plan.message);
  if (plan.action === 'stop') return 1;
  if (plan.action === 'install') {
    for (const argv of plan.commands) {
      if (!run(argv, { DEBIAN_FRONTEND: 'noninteractive' })) return 1;
    }
    const still = notInstalled(packages);
    if (still.length) {
      console.log(
        `test prerequisites: apt-get did not install ${still.map((p) => p.name).join(' ')}`,
      );
      return 1;
    }
  }

  if (!existsSync(join(root, 'node_modules'))) {
    // Inside `npm test`, npm_execpath is the npm that runs it.
    const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
    console.log('test prerequisites: no node_modules, running npm ci');
    const r = spawnSync(npm[0], [...npm.slice(1), 'ci', '--no-audit', '--no-fund'], {
      cwd: root,
      stdio: 'inherit',
    });
    if (r.status !== 0) return 1;
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  process.exit(main());
