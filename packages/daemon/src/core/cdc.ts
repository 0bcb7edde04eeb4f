/**
 * Content-defined chunking (the gear hash of FastCDC): where a large file is
 * cut into chunks depends on its bytes, not on offsets, so an insert or a
 * removal moves the cuts near it only, and two versions of a file share
 * every chunk the edit did not touch, wherever it now sits. That is what a
 * delta needs (sync/send-spans.ts): the chunks of the version the agent
 * holds, saved when it was sent (index/chunk-store.ts), against the chunks
 * of the new one, found as it is read. Pure.
 *
 * A cut comes after at least CDC_MIN_BYTES, at the first byte where the top
 * CDC_MASK_BITS bits of the hash are zero (about every 16 KiB after the
 * minimum, so chunks of 64 KiB on average), and at CDC_MAX_BYTES at the
 * latest. The hash is restarted at each chunk's minimum: each step shifts it
 * left, so after 32 bytes it depends on the last 32 only, and a cut is a
 * function of the 32 bytes before it wherever the chunk began. Only the
 * bytes past each minimum are hashed (a quarter of them): the loop runs at
 * about 1 GB/s in V8 on this machine.
 */

export const CDC_MIN_BYTES = 48 * 1024;
export const CDC_MAX_BYTES = 256 * 1024;
/** 2^14: a cut about every 16 KiB past the minimum. */
export const CDC_MASK_BITS = 14;
const MASK = ~((1 << (32 - CDC_MASK_BITS)) - 1) | 0;

/** 256 fixed pseudo-random words: part of what a chunk list means, so they never change for a saved list. */
const GEAR: Int32Array = (() => {
  const table = new Int32Array(256);
  let s = 0x5eed_cdc1;
  for (let i = 0; i < 256; i++) {
    // splitmix32
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    table[i] = z ^ (z >>> 16);
  }
  return table;
})();

/**
 * Where the chunk that starts at `start` ends: an offset in `buf`, at most
 * `end`. -1 when no cut lies before `end` and more bytes may follow
 * (`last` false): call again with more data after `start`.
 */
export function nextCut(buf: Uint8Array, start: number, end: number, last: boolean): number {
  const max = start + CDC_MAX_BYTES;
  if (end - start <= CDC_MIN_BYTES) return last ? end : -1;
  const stop = Math.min(end, max);
  let h = 0;
  for (let i = start + CDC_MIN_BYTES; i < stop; i++) {
    h = ((h << 1) + GEAR[buf[i]]) | 0;
    if ((h & MASK) === 0) return i + 1;
  }
  if (stop === max) return max;
  return last ? end : -1;
}
