/**
 * Test helpers for the attention package: one `Deno.test` per backend, an allclose assertion,
 * and seeded random inputs.
 *
 * @module
 */

import { type DType, type Tensor, tensor } from "@denoformers/core";

export { testBackends } from "@denoformers/core/testing";
import { assertAllClose as coreAllClose } from "@denoformers/core/testing";
/** A seeded generator of floats in `[0, 1)` (core's test generator). */
export { testRng as seededRandom } from "@denoformers/core/testing";

/**
 * Core's `assertAllClose` with this folder's defaults (`atol` 1e-5, `rtol` 0).
 *
 * @param actual Values under test.
 * @param expected Reference values.
 * @param options Tolerances and a label.
 */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  options: { atol?: number; rtol?: number; label?: string } = {},
): void {
  coreAllClose(actual, expected, {
    atol: options.atol ?? 1e-5,
    rtol: options.rtol ?? 0,
    label: options.label,
  });
}

/**
 * A tensor of uniform values in `[-1, 1)` from `random`, on the current backend.
 *
 * @param shape The shape.
 * @param random The generator.
 * @param dtype The dtype. @default {"float32"}
 * @returns The tensor.
 */
export function randomTensor(
  shape: readonly number[],
  random: () => number,
  dtype: DType = "float32",
): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Float64Array.from({ length: n }, () => 2 * random() - 1);
  return tensor(values, { shape, dtype });
}

/** Whether query `q` of batch row `b` may attend to key `k`. */
export type Allowed = (b: number, q: number, k: number) => boolean;

/** The min(float32) that additive masks hold at masked positions. */
export const MIN_FLOAT32 = -3.4028234663852886e38;

/**
 * Builds the two mask formats of one pattern, `[B, 1, Q, K]`, on the current backend: bool
 * (true = attend, for sdpa) and additive float32 (0 / min(float32), for eager).
 *
 * @param shape `[B, Q, K]`.
 * @param allowed The pattern.
 * @returns Both masks.
 */
export function masks(
  shape: readonly [number, number, number],
  allowed: Allowed,
): { bool: Tensor; additive: Tensor } {
  const [b, q, k] = shape;
  const keep = new Uint8Array(b * q * k);
  const add = new Float32Array(b * q * k);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < q; j++) {
      for (let l = 0; l < k; l++) {
        const at = (i * q + j) * k + l;
        keep[at] = allowed(i, j, l) ? 1 : 0;
        add[at] = allowed(i, j, l) ? 0 : MIN_FLOAT32;
      }
    }
  }
  return {
    bool: tensor(keep, { dtype: "bool", shape: [b, 1, q, k] }),
    additive: tensor(add, { shape: [b, 1, q, k] }),
  };
}

/**
 * Attention computed with plain loops in float64: `softmax(q·kᵀ·scaling)` over allowed keys,
 * times `v`, with key/value head `⌊h / nRep⌋` serving query head `h`. A row with no allowed key
 * gives zeros. Inputs are flat row-major `[B, H, Q, D]` / `[B, KVH, K, D]`.
 *
 * @param q Queries.
 * @param k Keys.
 * @param v Values.
 * @param dims `[B, H, KVH, Q, K, D]`.
 * @param allowed The mask pattern.
 * @returns The output, flat `[B, Q, H, D]`.
 */
export function referenceAttention(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: readonly [number, number, number, number, number, number],
  allowed: Allowed,
): number[] {
  const [nb, nh, nkv, nq, nk, d] = dims;
  const out = new Array<number>(nb * nq * nh * d).fill(0);
  for (let b = 0; b < nb; b++) {
    for (let h = 0; h < nh; h++) {
      const g = Math.floor(h / (nh / nkv));
      for (let i = 0; i < nq; i++) {
        const scores: number[] = [];
        for (let j = 0; j < nk; j++) {
          let s = 0;
          for (let e = 0; e < d; e++) {
            s += q[((b * nh + h) * nq + i) * d + e] * k[((b * nkv + g) * nk + j) * d + e];
          }
          scores.push(allowed(b, i, j) ? s / Math.sqrt(d) : -Infinity);
        }
        const max = Math.max(...scores);
        if (max === -Infinity) continue;
        const exps = scores.map((s) => Math.exp(s - max));
        const total = exps.reduce((x, y) => x + y, 0);
        for (let e = 0; e < d; e++) {
          let acc = 0;
          for (let j = 0; j < nk; j++) acc += exps[j] / total * v[((b * nkv + g) * nk + j) * d + e];
          out[((b * nq + i) * nh + h) * d + e] = acc;
        }
      }
    }
  }
  return out;
}

/**
 * Checks the gradients of a scalar function of float64 CPU tensors against central finite
 * differences.
 *
 * @param f The function (returns a one-element tensor).
 * @param inputs Flat values and shapes of the inputs.
 * @param options Step `eps` (default 1e-6) and tolerance `atol` (default 1e-6).
 */
export function checkGradients(
  f: (inputs: Tensor[]) => Tensor,
  inputs: readonly { values: ArrayLike<number>; shape: readonly number[] }[],
  options: { eps?: number; atol?: number } = {},
): void {
  const { eps = 1e-6, atol = 1e-6 } = options;
  const make = (values: ArrayLike<number>, shape: readonly number[], grad: boolean) =>
    tensor(Float64Array.from(values), {
      shape,
      dtype: "float64",
      backend: "cpu",
      requiresGrad: grad,
    });
  const leaves = inputs.map((x) => make(x.values, x.shape, true));
  f(leaves).backward();
  const evaluate = (i: number, values: Float64Array) =>
    f(inputs.map((
      x,
      j,
    ) => (j === i ? make(values, x.shape, false) : make(x.values, x.shape, false))))
      .dataSync()[0];
  inputs.forEach((x, i) => {
    const analytic = leaves[i].grad!.dataSync();
    const numeric = Array.from({ length: x.values.length }, (_, j) => {
      const plus = Float64Array.from(x.values);
      const minus = Float64Array.from(x.values);
      plus[j] += eps;
      minus[j] -= eps;
      return (evaluate(i, plus) - evaluate(i, minus)) / (2 * eps);
    });
    assertAllClose(analytic, numeric, { atol, rtol: 1e-5, label: `gradient of input ${i}` });
  });
}
