/**
 * Common non-matmul ops at transformer-like sizes, result read back, for our backends and tfjs
 * cpu / wasm / webgpu in the same run: elementwise add with broadcasting, GELU (erf), softmax over
 * the last axis, and a sum over the last axis.
 *
 * @module
 */

import { availableBackends, setBackend, type Tensor, tensor, tidy } from "@denoformers/core";
import { tf, TFJS_BACKENDS, useTfjs, values } from "./_peers.ts";

const ROWS = 512;
const COLS = 1024;
const x = values(ROWS * COLS);
const bias = values(COLS);

type Op = {
  name: string;
  /** The same result from smaller ops, where `ours` is a fused kernel (its benchmarked gain). */
  composite?: (t: Tensor) => Tensor;
  ours: (t: Tensor, b: Tensor) => Tensor;
  tfjs: (t: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor;
};
const OPS: Op[] = [
  { name: "add (broadcast row)", ours: (t, b) => t.add(b), tfjs: (t, b) => tf.add(t, b) },
  {
    name: "gelu (erf)",
    ours: (t) => t.gelu(),
    composite: (t) => t.mul(0.5).mul(t.mul(Math.SQRT1_2).erf().add(1)),
    tfjs: (t) => geluTfjs(t),
  },
  { name: "softmax (last axis)", ours: (t) => t.softmax(-1), tfjs: (t) => tf.softmax(t) },
  { name: "sum (last axis)", ours: (t) => t.sum(-1), tfjs: (t) => tf.sum(t, -1) },
];

/** tfjs has no erf-form GELU op; compose it the same way ours is defined. */
function geluTfjs(t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1)));
}

const ours = await availableBackends();
for (const op of OPS) {
  const group = `${op.name} [${ROWS}, ${COLS}]`;
  for (const backend of ["webgpu", "cpu"] as const) {
    if (!ours.includes(backend)) continue;
    let t: Tensor | undefined, b: Tensor | undefined;
    Deno.bench({
      name: `denoformers ${backend}`,
      group,
      baseline: backend === "webgpu" || !ours.includes("webgpu"),
      n: 10,
      warmup: 2,
      async fn(ctx) {
        await setBackend(backend);
        t ??= tensor(x, { shape: [ROWS, COLS] });
        b ??= tensor(bias, { shape: [COLS] });
        ctx.start();
        const out = op.ours(t, b);
        await out.data();
        ctx.end();
        out.dispose();
      },
    });
  }
  const composite = op.composite;
  for (const backend of composite ? (["webgpu", "cpu"] as const) : []) {
    if (!ours.includes(backend)) continue;
    let t: Tensor | undefined;
    Deno.bench({
      name: `denoformers ${backend} (composite)`,
      group,
      n: 10,
      warmup: 2,
      async fn(ctx) {
        await setBackend(backend);
        t ??= tensor(x, { shape: [ROWS, COLS] });
        ctx.start();
        const out = tidy(() => composite!(t!));
        await out.data();
        ctx.end();
        out.dispose();
      },
    });
  }
  for (const backend of TFJS_BACKENDS) {
    Deno.bench({
      name: `tfjs ${backend}`,
      group,
      n: 10,
      warmup: 2,
      async fn(ctx) {
        await useTfjs(backend);
        const t = tf.tensor2d(x, [ROWS, COLS]);
        const b = tf.tensor1d(bias);
        await t.data();
        ctx.start();
        const out = op.tfjs(t, b);
        await out.data();
        ctx.end();
        tf.dispose([t, b, out]);
      },
    });
  }
}
