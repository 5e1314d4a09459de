/** Binary arrays inside JSON (model cards): base64 of their bytes, in browsers and Node alike. */

// Browsers and Node ≥ 16 both have btoa/atob; chunks keep String.fromCharCode's arguments few.
export function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    text += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + 0x8000)));
  return btoa(text);
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A float32 array's little-endian bytes as base64. */
export function float32ToBase64(values: ArrayLike<number>): string {
  return toBase64(new Uint8Array(Float32Array.from(values).buffer));
}

/**
 * The float32 array `text` encodes, when it holds exactly `length` finite values; otherwise a
 * message saying what is wrong (for the caller's error).
 */
export function float32FromBase64(
  text: unknown,
  length: number,
  what: string,
): Float32Array | string {
  if (typeof text !== 'string') return `${what} must be a base64 string`;
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(text);
  } catch {
    return `${what} are not base64`;
  }
  if (bytes.length !== length * 4) {
    return `${what} hold ${bytes.length} bytes, not the ${length * 4} of ${length} float32 values`;
  }
  const values = new Float32Array(bytes.buffer, bytes.byteOffset, length);
  if (!values.every(Number.isFinite)) return `${what} must be finite numbers`;
  return values;
}
