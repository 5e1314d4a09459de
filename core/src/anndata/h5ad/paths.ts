/** Element paths: ours have no leading slash ('' is the root), h5wasm's start with '/'. */

export function normalize(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}
export const h5Path = (path: string): string => `/${path}`;
export const parentOf = (path: string): string => path.slice(0, Math.max(path.lastIndexOf('/'), 0));
export const nameOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
export const isWithin = (path: string, ancestor: string): boolean =>
  path === ancestor || path.startsWith(`${ancestor}/`);
