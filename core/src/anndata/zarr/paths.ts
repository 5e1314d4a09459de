/** Element paths inside a store: '/'-separated, no leading slash, '' for the root. */
import type * as zarr from 'zarrita';
import { AnnDataError } from '../../errors.js';

export function normPath(path: string, source: string): string {
  const trimmed = trimSlashes(path);
  if (trimmed === '') return '';
  const parts = trimmed.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new AnnDataError(`invalid element path '${path}'`, { file: source });
  }
  return trimmed;
}

export function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

export function join(path: string, name: string): string {
  return path === '' ? name : `${path}/${name}`;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function isWithin(path: string, prefix: string): boolean {
  return prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
}

export function encodedPath(path: string): zarr.AbsolutePath {
  return `/${path.split('/').map(encodeURIComponent).join('/')}`;
}
