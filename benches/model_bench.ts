/**
 * A BERT-base-shaped encoder (batch 1, sequence 128, hidden 768, 12 heads, feed-forward 3072):
 * one layer's forward, and a 4-layer training step (forward, backward of a mean-square loss,
 * SGD update), ours on WebGPU and on the CPU (WebAssembly on 1 and 2 threads, native BLAS) beside
 * the same computation composed from tfjs ops on tfjs cpu / wasm / webgpu, in the same run.
 *
 * @module
 */

import {
  availableBackends,
  blasAvailable,
  cpuThreadsSupported,
  getCpuThreads,
  noGrad,
  setBackend,
  setCpuKernels,
  setCpuThreads,
  type Tensor,
  tensor,
  tidy,
} from "@denoformers/core";
import { BertConfig, BertEncoder } from "@denoformers/models";
import { values } from "./_peers.ts";
import { tf, tfEncoderLayer, tfLayer } from "./_tfjs_bert.ts";

const S = 128, H = 768, HEADS = 12, F = 3072;
const config = (layers: number) =>
  new BertConfig({
    hidden_size: H,
    num_attention_heads: HEADS,
    intermediate_size: F,
    num_hidden_layers: layers,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    _attn_implementation: "sdpa",
  });
const TF_BACKENDS = ["cpu", "wasm", "webgpu"];
const ours = await availableBackends();
const slow = (b: string) => b === "cpu" ? 2 : 4;

/** Our backends, and the CPU three ways: WebAssembly on 1 and 2 threads, native BLAS matmul. */
const VARIANTS = ([
  { name: "webgpu", backend: "webgpu", blas: false, threads: 1 },
  { name: "cpu", backend: "cpu", blas: false, threads: 1 },
  { name: "cpu, 2 threads", backend: "cpu", blas: false, threads: 2 },
  { name: "cpu, native BLAS", backend: "cpu", blas: true, threads: 1 },
] as const).filter((v) =>
  ours.includes(v.backend) && (!v.blas || blasAvailable()) &&
  (v.threads === 1 || cpuThreadsSupported())
);

async function configure(v: (typeof VARIANTS)[number]): Promise<void> {
  await setBackend(v.backend);
  setCpuKernels({ wasm: true, blas: v.blas });
  if (getCpuThreads().threads !== v.threads) {
    await setCpuThreads(v.threads, { idleTimeoutMs: 5000 });
  }
}

for (const v of VARIANTS) {
  const { backend } = v;
  let layer: BertEncoder | undefined, x: Tensor | undefined;
  Deno.bench({
    name: `denoformers ${v.name}`,
    group: "BERT-base layer forward (b1 s128 h768)",
    baseline: backend === "webgpu",
    n: slow(backend) + 2,
    warmup: 2,
    async fn(t) {
      await configure(v);
      layer ??= new BertEncoder(config(1)).eval();
      x ??= tensor(values(S * H), { shape: [1, S, H] });
      t.start();
      const y = noGrad(() => tidy(() => layer!.call(x!, null).lastHiddenState));
      await y.data();
      t.end();
      y.dispose();
    },
  });
}
for (const backend of TF_BACKENDS) {
  let p: ReturnType<typeof tfLayer> | undefined, x: tf.Tensor | undefined;
  Deno.bench({
    name: `tfjs ${backend}`,
    group: "BERT-base layer forward (b1 s128 h768)",
    n: backend === "cpu" ? 2 : 4,
    warmup: 2,
    async fn(t) {
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
      await tf.ready();
      p ??= tfLayer(H, F, values, false);
      x ??= tf.tensor2d(values(S * H), [S, H]);
      t.start();
      const y = tf.tidy(() => tfEncoderLayer(x!, p!, HEADS));
      await y.data();
      t.end();
      y.dispose();
    },
  });
}

for (const v of VARIANTS) {
  const { backend } = v;
  let enc: BertEncoder | undefined, x: Tensor | undefined, target: Tensor | undefined;
  Deno.bench({
    name: `denoformers ${v.name}`,
    group: "4-layer training step (fwd + bwd + SGD)",
    baseline: backend === "webgpu",
    n: 2,
    warmup: 1,
    async fn(t) {
      await configure(v);
      enc ??= new BertEncoder(config(4)).train();
      x ??= tensor(values(S * H), { shape: [1, S, H] });
      target ??= tensor(values(S * H).reverse(), { shape: [1, S, H] });
      t.start();
      const loss = tidy(() => {
        const diff = enc!.call(x!, null).lastHiddenState.sub(target!);
        const l = diff.mul(diff).mean();
        l.backward();
        noGrad(() => {
          for (const w of enc!.parameters()) {
            w.assign(w.sub(w.grad!.mul(1e-4)));
            w.grad!.dispose();
            w.grad = null;
          }
        });
        return l;
      });
      await loss.data();
      t.end();
      loss.dispose();
    },
  });
}
for (const backend of TF_BACKENDS) {
  let layers: ReturnType<typeof tfLayer>[] | undefined,
    x: tf.Tensor | undefined,
    target: tf.Tensor | undefined;
  const opt = tf.train.sgd(1e-4);
  Deno.bench({
    name: `tfjs ${backend}`,
    group: "4-layer training step (fwd + bwd + SGD)",
    n: 2,
    warmup: 1,
    async fn(t) {
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
      await tf.ready();
      layers ??= Array.from({ length: 4 }, () => tfLayer(H, F, values, true));
      x ??= tf.tensor2d(values(S * H), [S, H]);
      target ??= tf.tensor2d(values(S * H).reverse(), [S, H]);
      t.start();
      const loss = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          let h = x!;
          for (const p of layers!) h = tfEncoderLayer(h, p, HEADS);
          return tf.mean(tf.square(tf.sub(h, target!))) as tf.Scalar;
        });
        opt.applyGradients(grads);
        return value;
      });
      await loss.data();
      t.end();
      loss.dispose();
    },
  });
}
