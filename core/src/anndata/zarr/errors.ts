/** Errors for broken or unsupported Zarr metadata, and the hints they carry. */
import { AnnDataError } from '../../errors.js';

export const CORRUPT_HINT =
  'the file may be corrupt or incompletely copied: re-save or re-download it';
export const CODEC_HINT =
  're-save the data with blosc, zstd, gzip or zlib compression (the defaults of anndata and zarr)';

export function invalidMetadata(
  file: string,
  key: string,
  problem: string,
  cause?: unknown,
): AnnDataError {
  return new AnnDataError(`invalid Zarr metadata: ${problem}`, {
    file,
    element: key,
    hint: CORRUPT_HINT,
    cause,
  });
}

export function unsupported(
  file: string,
  key: string,
  what: string,
  hint = CODEC_HINT,
): AnnDataError {
  return new AnnDataError(`unsupported ${what}`, { file, element: key, hint });
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
