/**
 * Deterministic pseudo-random numbers for the benchmark tree. The same seed
 * gives the same tree on every machine, so runs compare like with like.
 * xorshift128 is used because it fills hundreds of MiB in well under a second
 * in plain JavaScript; it is not meant to be cryptographic, only to produce
 * content that no compressor or dedup step can shortcut.
 */

const TWO_POW_32 = 4294967296;

/** splitmix32 step: spreads a small seed over all 32 bits (xorshift needs a non-zero, well-mixed state). */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

export class Xorshift128 {
  private x: number;
  private y: number;
  private z: number;
  private w: number;

  /** `seed` and `stream` together pick the sequence: one stream per file, per version. */
  constructor(seed: number, stream = 0) {
    const base = mix32(seed ^ mix32(stream));
    this.x = mix32(base);
    this.y = mix32(this.x);
    this.z = mix32(this.y);
    this.w = mix32(this.z) || 1;
  }

  nextU32(): number {
    const t = this.x ^ (this.x << 11);
    this.x = this.y;
    this.y = this.z;
    this.z = this.w;
    this.w = (this.w ^ (this.w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return this.w;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** Standard normal deviate (Box-Muller); 1 - u keeps log away from 0. */
  nextGaussian(): number {
    const u = 1 - this.nextFloat();
    const v = this.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fills the first `words` entries of `out`; the hot loop keeps state in locals. */
  fill(out: Uint32Array, words: number): void {
    let { x, y, z, w } = this;
    for (let i = 0; i < words; i++) {
      const t = x ^ (x << 11);
      x = y;
      y = z;
      z = w;
      w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
      out[i] = w;
    }
    this.x = x;
    this.y = y;
    this.z = z;
    this.w = w;
  }
}
