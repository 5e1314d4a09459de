/**
 * Error text for a response body: it names a dataset by its base name, never where it lives on
 * this machine (core's errors carry the full path, for the terminal).
 */
import { basename, dirname, isAbsolute, parse, resolve, sep } from 'node:path';

/** An absolute POSIX path of two or more segments, not inside a word, a key or a URL. */
const POSIX_PATH = /(?<![\w.:/~-])(?:\/[^/\s'"`,;()[\]]+)+\/([^/\s'"`,;()[\]]+)/g;
/** An absolute Windows path (C:\…\name). */
const WINDOWS_PATH = /\b[A-Za-z]:\\(?:[^\\\s'"`,;()[\]]+\\)*([^\\\s'"`,;()[\]]+)/g;

/**
 * `text` with each of the `known` paths (the datasets and folders served, as given and
 * resolved; they may hold spaces), anything beside them, and any other absolute path cut to
 * its base name.
 */
export function withoutPaths(text: string, known: (string | undefined)[]): string {
  const replacements = new Map<string, string>();
  for (const p of known) {
    if (!p) continue;
    for (const form of [p, resolve(p)]) {
      if (isAbsolute(form) || form.includes(sep)) replacements.set(form, basename(form));
      // Its siblings too (a writer's temporary copy beside it): the folder goes.
      const dir = dirname(form);
      if (isAbsolute(dir) && dir !== parse(dir).root) replacements.set(dir + sep, '');
    }
  }
  // Longest first, so a folder never cuts a longer path that starts with it.
  let out = text;
  for (const [from, to] of [...replacements].sort((a, b) => b[0].length - a[0].length)) {
    out = out.split(from).join(to);
  }
  return out.replace(POSIX_PATH, '$1').replace(WINDOWS_PATH, '$1');
}
