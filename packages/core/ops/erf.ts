/**
 * The error function, accurately in float64 for the CPU reference, and as a WGSL function.
 *
 * @module
 */

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/**
 * The error function `erf(x)`, accurate to about 1e-15 relative.
 *
 * Uses the Maclaurin series below |x| = 2 and a continued fraction for `erfc` above it.
 *
 * @param x The argument.
 * @returns `erf(x)`.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { erf } from "./erf.ts";
 *
 * assertAlmostEquals(erf(1), 0.8427007929497149, 1e-15);
 * ```
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2) {
    // Maclaurin series: sum of (-1)^n x^(2n+1) / (n! (2n+1)).
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  if (ax > 6) return Math.sign(x);
  return Math.sign(x) * (1 - erfcLarge(ax));
}

/** erfc(x) for x >= 2 by the Laplace continued fraction, evaluated bottom-up. */
function erfcLarge(x: number): number {
  let f = x;
  for (let n = 80; n >= 1; n--) f = x + (n / 2) / f;
  return Math.exp(-x * x) / (f * Math.sqrt(Math.PI));
}

/**
 * WGSL for `fn erf_f32(x: f32) -> f32` using the same two regimes in float32 (series below 2,
 * continued fraction above), which keeps the relative error near 1e-6 everywhere, including near 0.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { ERF_WGSL } from "./erf.ts";
 *
 * assert(ERF_WGSL.includes("fn erf_f32"));
 * ```
 */
export const ERF_WGSL: string = `
fn erf_f32(x: f32) -> f32 {
  let ax = abs(x);
  if (ax < 2.0) {
    let x2 = x * x;
    var term = x;
    var sum = x;
    for (var n = 1; n < 28; n++) {
      term = term * (-x2 / f32(n));
      sum = sum + term / f32(2 * n + 1);
    }
    return 1.1283791670955126 * sum;
  }
  if (ax > 6.0) { return sign(x); }
  var f = ax;
  for (var n = 40; n >= 1; n--) { f = ax + (f32(n) * 0.5) / f; }
  return sign(x) * (1.0 - exp(-ax * ax) / (f * 1.7724538509055159));
}`;
