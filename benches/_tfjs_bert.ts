/**
 * The peer side of the model bench: a BERT-base-shaped encoder layer composed from tfjs ops (the
 * same computation as ours: q/k/v projections, 12-head softmax attention, output projection,
 * residual + LayerNorm, erf GELU feed-forward, residual + LayerNorm), and a training step through
 * `tf.variableGrads`. The `@tensorflow/tfjs` union package is used because only its bundle
 * registers gradients under Deno.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";

export { tf };

/** tfjs tensors of one layer's parameters. */
export type TfLayer = Record<string, tf.Tensor>;

/**
 * Builds one layer's parameters (small deterministic values; variables for training).
 *
 * @param H Hidden size.
 * @param F Feed-forward size.
 * @param values Source of values in [-1, 1).
 * @param asVariables Make trainable variables.
 * @returns The parameters.
 */
export function tfLayer(
  H: number,
  F: number,
  values: (n: number) => Float32Array,
  asVariables: boolean,
): TfLayer {
  const mk = (shape: number[], scale = 0.03) => {
    const t = tf.tensor(values(shape.reduce((a, b) => a * b, 1)).map((v) => v * scale), shape);
    return asVariables ? tf.variable(t) : t;
  };
  const ones = (n: number) => (asVariables ? tf.variable(tf.ones([n])) : tf.ones([n]));
  return {
    Wq: mk([H, H]),
    bq: mk([H]),
    Wk: mk([H, H]),
    bk: mk([H]),
    Wv: mk([H, H]),
    bv: mk([H]),
    Wo: mk([H, H]),
    bo: mk([H]),
    g1: ones(H),
    b1n: mk([H]),
    W1: mk([H, F]),
    b1: mk([F]),
    W2: mk([F, H]),
    b2: mk([H]),
    g2: ones(H),
    b2n: mk([H]),
  };
}

function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-12))), g), b);
}

/**
 * One encoder layer on `[S, H]` (batch 1).
 *
 * @param x The input.
 * @param p The parameters.
 * @param heads Number of heads.
 * @returns The output.
 */
export function tfEncoderLayer(x: tf.Tensor, p: TfLayer, heads: number): tf.Tensor {
  const [S, H] = x.shape;
  const D = H / heads;
  const lin = (t: tf.Tensor, W: tf.Tensor, b: tf.Tensor) => tf.add(tf.matMul(t, W), b);
  const split = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [S, heads, D]), [1, 0, 2]);
  const q = split(lin(x, p.Wq, p.bq));
  const k = split(lin(x, p.Wk, p.bk));
  const v = split(lin(x, p.Wv, p.bv));
  const probs = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D)), -1);
  const ctx = tf.reshape(tf.transpose(tf.matMul(probs, v), [1, 0, 2]), [S, H]);
  const h1 = layerNorm(tf.add(lin(ctx, p.Wo, p.bo), x), p.g1, p.b1n);
  const f = lin(h1, p.W1, p.b1);
  const gelu = tf.mul(tf.mul(f, 0.5), tf.add(tf.erf(tf.mul(f, Math.SQRT1_2)), 1));
  return layerNorm(tf.add(lin(gelu, p.W2, p.b2), h1), p.g2, p.b2n);
}
