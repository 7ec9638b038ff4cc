/**
 * Counter-based random numbers (Philox4x32-10). Block `b` of a stream is
 * `philox(counter = (b_lo, b_hi, 0, 0), key = (seed_lo, seed_hi))`, four 32-bit words. The same
 * integer arithmetic runs on the CPU and in WGSL, so uniform draws and Bernoulli masks are
 * bit-identical across backends; normals agree to float32 rounding of `log`/`cos`.
 *
 * @module
 */

import type { DType } from "../dtype.ts";
import { sizeOf } from "../shape.ts";
import type { KernelOpDef } from "./op_def.ts";
import { bindingsWgsl, ELEMENTWISE_WG, packUniforms, wgslType } from "./wgsl_util.ts";
import { splitWorkgroups } from "./wgsl_program.ts";

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32, from 16-bit halves (exact in doubles). */
function mulhi(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p01 = a0 * b1, p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * One Philox4x32-10 block.
 *
 * @param ctr The 128-bit counter as four u32 words.
 * @param k0 Low key word.
 * @param k1 High key word.
 * @returns Four u32 words.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { philox4x32 } from "./random.ts";
 *
 * // Known-answer test from the Random123 distribution (counter 0, key 0).
 * assertEquals(philox4x32([0, 0, 0, 0], 0, 0), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
 * ```
 */
export function philox4x32(ctr: readonly number[], k0: number, k1: number): number[] {
  let [c0, c1, c2, c3] = ctr;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

const PHILOX_WGSL = `
fn mulhi(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p01 = a0 * b1; let p10 = a1 * b0;
  let mid = ((a0 * b0) >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}
fn philox(ctr_in: vec4<u32>, key_in: vec2<u32>) -> vec4<u32> {
  var c = ctr_in; var k = key_in;
  for (var r = 0; r < 10; r++) {
    let hi0 = mulhi(${M0}u, c.x); let lo0 = ${M0}u * c.x;
    let hi1 = mulhi(${M1}u, c.z); let lo1 = ${M1}u * c.z;
    c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k = k + vec2<u32>(${W0}u, ${W1}u);
  }
  return c;
}`;

/** The distributions the random primitive draws from. */
export type Distribution = "uniform" | "normal" | "bernoulli";

/** Arguments of {@linkcode random}. */
export interface RandomArgs {
  /** Output shape. */
  readonly shape: readonly number[];
  /** Output dtype (a float dtype). */
  readonly dtype: DType;
  /** The 53-bit seed. */
  readonly seed: number;
  /** First Philox block of this draw. */
  readonly offset: number;
  /** What to draw. */
  readonly dist: Distribution;
  /** Bernoulli only: probability of 0 (the dropout rate). */
  readonly p?: number;
}

/** Number of Philox blocks a draw of `n` values consumes (four values per block). */
export function blocksFor(n: number): number {
  return Math.ceil(n / 4);
}

const TWO_PI = 6.283185307179586;

/** 24-bit uniform in [0, 1): exact in float32, so identical on every backend. */
const unit = (w: number) => (w >>> 8) * 5.960464477539063e-8;

/**
 * Integer threshold for a Bernoulli(1 - p) keep mask: keep when `(w >>> 8) >= threshold`.
 *
 * @param p The drop probability.
 * @returns The threshold in `[0, 2^24]`.
 */
export function keepThreshold(p: number): number {
  return Math.min(16777216, Math.ceil(p * 16777216));
}

/** Draws uniform, normal (Box–Muller) or Bernoulli keep-mask values from a Philox stream. */
export const random: KernelOpDef<RandomArgs> = {
  kind: "kernel",
  name: "random",
  infer: (_inputs, { shape, dtype }) => ({ shape, dtype }),
  cpu(_inputs, out, _meta, { seed, offset, dist, p = 0 }) {
    const k0 = seed % 4294967296 >>> 0;
    const k1 = Math.floor(seed / 4294967296) >>> 0;
    const threshold = keepThreshold(p);
    for (let b = 0; b < blocksFor(out.length); b++) {
      const ctr = offset + b;
      const w = philox4x32(
        [ctr % 4294967296 >>> 0, Math.floor(ctr / 4294967296) >>> 0, 0, 0],
        k0,
        k1,
      );
      for (let j = 0; j < 4 && 4 * b + j < out.length; j++) {
        if (dist === "uniform") out[4 * b + j] = unit(w[j]);
        else if (dist === "bernoulli") out[4 * b + j] = w[j] >>> 8 >= threshold ? 1 : 0;
        else {
          const pair = j & ~1;
          const r = Math.sqrt(-2 * Math.log(unit(w[pair]) + 5.960464477539063e-8));
          const theta = TWO_PI * unit(w[pair + 1]);
          out[4 * b + j] = r * (j & 1 ? Math.sin(theta) : Math.cos(theta));
        }
      }
    }
  },
  wgsl(_inputs, meta, { seed, offset, dist, p = 0 }) {
    const n = sizeOf(meta.shape);
    const t = wgslType("random", meta.dtype);
    const blocks = blocksFor(n);
    const words = [
      n,
      blocks,
      seed % 4294967296,
      Math.floor(seed / 4294967296),
      offset % 4294967296,
      Math.floor(offset / 4294967296),
      keepThreshold(p),
    ];
    const value = dist === "uniform"
      ? "f32(w[j] >> 8u) * 5.960464477539063e-8"
      : dist === "bernoulli"
      ? "select(0.0, 1.0, (w[j] >> 8u) >= m(6u))"
      : `normal(w, j)`;
    // Workgroup layout: 256 threads in x, one Philox block (four outputs) per thread.
    const code = () =>
      `${bindingsWgsl([], t, words.length)}
${PHILOX_WGSL}
// cos/sin of 2πu with u = k / 2^24: reduce to a quadrant exactly (4u is exact in f32), then
// evaluate short Taylor polynomials on [-π/4, π/4]; builtin cos/sin on some drivers are off by
// more than 1e-6 for large arguments.
fn sincos2pi(u: f32) -> vec2<f32> {
  let t = 4.0 * u;
  let q = round(t);
  let x = (t - q) * 1.5707963267948966;
  let x2 = x * x;
  let s = x * (1.0 + x2 * (-1.0 / 6.0 + x2 * (1.0 / 120.0 + x2 * (-1.0 / 5040.0 + x2 / 362880.0))));
  let c = 1.0 + x2 * (-0.5 + x2 * (1.0 / 24.0 + x2 * (-1.0 / 720.0 + x2 * (1.0 / 40320.0 - x2 / 3628800.0))));
  switch (u32(q) & 3u) {
    case 0u: { return vec2<f32>(s, c); }
    case 1u: { return vec2<f32>(c, -s); }
    case 2u: { return vec2<f32>(-s, -c); }
    default: { return vec2<f32>(-c, s); }
  }
}
// -log(u) for u in (0, 1]; near 1 the builtin log loses relative accuracy, so use
// log(1 - d) = -2 atanh(d / (2 - d)) as a series (d = 1 - u is exact there).
fn neglog(u: f32) -> f32 {
  if (u < 0.5) { return -log(u); }
  let d = 1.0 - u;
  let y = d / (2.0 - d);
  let y2 = y * y;
  var term = y;
  var sum = y;
  for (var n = 1; n < 10; n++) {
    term = term * y2;
    sum = sum + term / f32(2 * n + 1);
  }
  return 2.0 * sum;
}
fn normal(w: vec4<u32>, j: u32) -> f32 {
  let pair = j & 2u;
  let u1 = f32(w[pair] >> 8u) * 5.960464477539063e-8 + 5.960464477539063e-8;
  let sc = sincos2pi(f32(w[pair + 1u] >> 8u) * 5.960464477539063e-8);
  let r = sqrt(2.0 * neglog(u1));
  return select(r * sc.y, r * sc.x, (j & 1u) == 1u);
}
@compute @workgroup_size(${ELEMENTWISE_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = gid.x + gid.y * nwg.x * ${ELEMENTWISE_WG}u;
  if (b >= m(1u)) { return; }
  let lo = m(4u) + b;
  let hi = m(5u) + select(0u, 1u, lo < b);
  let w = philox(vec4<u32>(lo, hi, 0u, 0u), vec2<u32>(m(2u), m(3u)));
  for (var j = 0u; j < 4u; j++) {
    let i = 4u * b + j;
    if (i < m(0u)) { out[i] = ${t}(${value}); }
  }
}`;
    return {
      key: `random|${dist}|${t}`,
      code,
      workgroups: splitWorkgroups(Math.ceil(blocks / ELEMENTWISE_WG)),
      uniforms: packUniforms(words),
    };
  },
};
