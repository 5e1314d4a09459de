/**
 * The one place that picks the TensorFlow.js backend. Node: WASM (tfjs-node cannot be installed),
 * with the .wasm files located next to @tensorflow/tfjs-backend-wasm's entry point. Browsers:
 * WebGL, then WASM, then CPU.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type BackendPreference = 'wasm' | 'webgl' | 'cpu' | 'auto';

export interface BackendOptions {
  /**
   * Directory (path or URL, ending with '/') holding the tfjs-backend-wasm .wasm files, or a
   * function returning it. Default: found from the installed package in Node, tfjs's own
   * default (the jsDelivr CDN next to the script) in browsers.
   */
  wasmPaths?: string | (() => Promise<string | undefined>);
}

export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

let wasmPathsSet = false;

/** Selects and readies a backend; returns its name. */
export async function initBackend(
  preference: BackendPreference = 'auto',
  options: BackendOptions = {},
): Promise<string> {
  const order: Exclude<BackendPreference, 'auto'>[] =
    preference !== 'auto' ? [preference] : isNode() ? ['wasm', 'cpu'] : ['webgl', 'wasm', 'cpu'];
  const failures: string[] = [];
  for (const name of order) {
    try {
      if (name === 'wasm') await configureWasm(options);
      if (await tf.setBackend(name)) {
        await tf.ready();
        return tf.getBackend();
      }
      failures.push(`${name}: setBackend returned false`);
    } catch (error) {
      failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could be initialised (${failures.join('; ')})`);
}

async function configureWasm(options: BackendOptions): Promise<void> {
  if (wasmPathsSet) return;
  const given = options.wasmPaths;
  const dir =
    typeof given === 'string'
      ? given
      : given
        ? await given()
        : isNode()
          ? await nodeWasmDir()
          : undefined;
  if (dir) setWasmPaths(dir.endsWith('/') ? dir : `${dir}/`);
  wasmPathsSet = true;
}

/** The dist/ folder of the installed tfjs-backend-wasm, as a file-system path (Node only). */
async function nodeWasmDir(): Promise<string | undefined> {
  const entry = import.meta.resolve?.('@tensorflow/tfjs-backend-wasm');
  if (!entry) return undefined;
  // A variable specifier keeps browser bundlers from trying to resolve the Node built-in.
  const urlModule = 'node:url';
  const { fileURLToPath } = (await import(/* @vite-ignore */ urlModule)) as {
    fileURLToPath: (url: URL) => string;
  };
  return fileURLToPath(new URL('.', entry));
}
