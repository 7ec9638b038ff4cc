/**
 * Common non-matmul ops at transformer-like sizes, result read back, for our backends and tfjs
 * cpu / wasm / webgpu in the same run: elementwise add with broadcasting, GELU (erf), softmax over
 * the last axis, and a sum over the last axis. Then the fused `layerNorm` and `rmsNorm` (with
 * weight and bias) against the composites they replace, at [128, 768] and [512, 1024].
 *
 * @module
 */

import {
  availableBackends,
  layerNorm,
  rmsNorm,
  setBackend,
  type Tensor,
  tensor,
  tidy,
} from "@denoformers/core";
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

type NormOp = {
  name: string;
  fused: (t: Tensor, w: Tensor, b: Tensor) => Tensor;
  /** The composite `nn.LayerNorm` / `nn.RMSNorm` ran before the fused ops. */
  composite: (t: Tensor, w: Tensor, b: Tensor) => Tensor;
  tfjs?: (t: tf.Tensor2D, w: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor;
};
const NORMS: NormOp[] = [
  {
    name: "layerNorm (weight, bias)",
    fused: (t, w, b) => layerNorm(t, w, b, { eps: 1e-5 }),
    composite: (t, w, b) => {
      const centered = t.sub(t.mean(-1, { keepdim: true }));
      const variance = centered.mul(centered).mean(-1, { keepdim: true });
      return centered.mul(variance.add(1e-5).rsqrt()).mul(w).add(b);
    },
    tfjs: (t, w, b) =>
      tf.tidy(() => {
        const { mean, variance } = tf.moments(t, -1, true);
        return tf.add(tf.mul(tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-5))), w), b);
      }),
  },
  {
    name: "rmsNorm (weight)",
    fused: (t, w) => rmsNorm(t, w, { eps: 1e-6 }),
    composite: (t, w) => w.mul(t.mul(t.mul(t).mean(-1, { keepdim: true }).add(1e-6).rsqrt())),
  },
];

for (const [rows, cols] of [[128, 768], [512, 1024]] as const) {
  const xs = values(rows * cols);
  const ws = values(cols);
  const bs = values(cols);
  for (const op of NORMS) {
    const group = `${op.name} [${rows}, ${cols}]`;
    for (const backend of ["webgpu", "cpu"] as const) {
      if (!ours.includes(backend)) continue;
      for (const fused of [true, false]) {
        let t: Tensor | undefined, w: Tensor | undefined, b: Tensor | undefined;
        Deno.bench({
          name: `denoformers ${backend}${fused ? "" : " (composite)"}`,
          group,
          baseline: fused && (backend === "webgpu" || !ours.includes("webgpu")),
          n: 20,
          warmup: 3,
          async fn(ctx) {
            await setBackend(backend);
            t ??= tensor(xs, { shape: [rows, cols] });
            w ??= tensor(ws, { shape: [cols] });
            b ??= tensor(bs, { shape: [cols] });
            const run = fused ? op.fused : op.composite;
            ctx.start();
            const out = tidy(() => run(t!, w!, b!));
            await out.data();
            ctx.end();
            out.dispose();
          },
        });
      }
    }
    const peer = op.tfjs;
    for (const backend of peer ? TFJS_BACKENDS : []) {
      Deno.bench({
        name: `tfjs ${backend} (composite)`,
        group,
        n: 20,
        warmup: 3,
        async fn(ctx) {
          await useTfjs(backend);
          const t = tf.tensor2d(xs, [rows, cols]);
          const w = tf.tensor1d(ws);
          const b = tf.tensor1d(bs);
          await t.data();
          ctx.start();
          const out = peer!(t, w, b);
          await out.data();
          ctx.end();
          tf.dispose([t, w, b, out]);
        },
      });
    }
  }
}
