/**
 * The CPU comparison in one run: our CPU backend (WebAssembly on 1 and 2 threads, native BLAS),
 * tfjs-wasm, onnxruntime-web (WebAssembly, 1 and 2 threads), onnxruntime-node (native, 1 and 2
 * threads) and, for the matmul, NumPy/OpenBLAS (a `python3` child) on a float32 matmul at N=1024 and on
 * one BERT-base-shaped encoder layer forward (batch 1, sequence 128, hidden 768, 12 heads,
 * feed-forward 3072, erf GELU, post-LayerNorm, eps 1e-12).
 *
 * Every implementation computes the same function from the same weights (`tfLayer` of
 * `_tfjs_bert.ts`); the setup runs each once and throws when an output is off from tfjs-wasm's by
 * more than 1e-4 (relative to the output's scale). A peer that cannot load gets its rows ignored.
 *
 * `deno bench -A benches/ort_bench.ts` (about a minute).
 *
 * @module
 */

import {
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
import { NumpyPeer } from "./_numpy.ts";
import { tf, tfEncoderLayer, tfLayer } from "./_tfjs_bert.ts";
import { BERT_PARAMS, bertLayerModel, type BertWeights, matmulModel } from "./_onnx.ts";
import { type Feeds, type Made, ortNode, type OrtRunner, ortWeb } from "./_ort.ts";

const N = 1024, S = 128, H = 768, HEADS = 12, F = 3072;
const MATMUL = "matmul 1024 (cpu peers)";
const BERT = "BERT-base layer forward (b1 s128 h768)";

/** One output checked against the reference, or a failure to report. */
function check(what: string, got: ArrayLike<number>, ref: ArrayLike<number>): void {
  let diff = 0, scale = 1;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  if (got.length !== ref.length || !(diff <= 1e-4 * scale)) {
    throw new Error(`Cannot bench ${what}: max |Δ| ${diff} against tfjs-wasm (scale ${scale})`);
  }
  console.log(`check ${what}: max |Δ| ${diff.toExponential(2)} against tfjs-wasm`);
}

/** `[rows, cols]` row-major → `[cols, rows]` (tfjs `[in, out]` weights → `Linear`'s `[out, in]`). */
function transpose({ data, dims: [rows, cols] }: { data: Float32Array; dims: number[] }) {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  }
  return tensor(out, { shape: [cols, rows] });
}

// Inputs and weights, shared by every implementation.
const a = values(N * N), b = values(N * N).reverse();
const x = values(S * H);
const tfjsOk = await tf.setBackend("wasm").catch(() => false);
if (!tfjsOk) throw new Error("Cannot bench: tfjs-wasm (the reference) did not load");
const params = tfLayer(H, F, values, false);
const weights = Object.fromEntries(
  BERT_PARAMS.map((
    k,
  ) => [k, { data: params[k].dataSync() as Float32Array, dims: params[k].shape }]),
) as BertWeights;
const tfX = tf.tensor2d(x, [S, H]);
const tfA = tf.tensor2d(a, [N, N]), tfB = tf.tensor2d(b, [N, N]);
const refMatmul = tf.matMul(tfA, tfB).dataSync();
const refBert = tf.tidy(() => tfEncoderLayer(tfX, params, HEADS)).dataSync();

// Ours, with the same weights.
await setBackend("cpu");
const encoder = new BertEncoder(
  new BertConfig({
    hidden_size: H,
    num_attention_heads: HEADS,
    intermediate_size: F,
    num_hidden_layers: 1,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    _attn_implementation: "sdpa",
  }),
).eval();
const w = weights, vec = (s: { data: Float32Array }) => tensor(s.data, { shape: [s.data.length] });
encoder.loadStateDict({
  "layer.0.attention.self.query.weight": transpose(w.Wq),
  "layer.0.attention.self.query.bias": vec(w.bq),
  "layer.0.attention.self.key.weight": transpose(w.Wk),
  "layer.0.attention.self.key.bias": vec(w.bk),
  "layer.0.attention.self.value.weight": transpose(w.Wv),
  "layer.0.attention.self.value.bias": vec(w.bv),
  "layer.0.attention.output.dense.weight": transpose(w.Wo),
  "layer.0.attention.output.dense.bias": vec(w.bo),
  "layer.0.attention.output.LayerNorm.weight": vec(w.g1),
  "layer.0.attention.output.LayerNorm.bias": vec(w.b1n),
  "layer.0.intermediate.dense.weight": transpose(w.W1),
  "layer.0.intermediate.dense.bias": vec(w.b1),
  "layer.0.output.dense.weight": transpose(w.W2),
  "layer.0.output.dense.bias": vec(w.b2),
  "layer.0.output.LayerNorm.weight": vec(w.g2),
  "layer.0.output.LayerNorm.bias": vec(w.b2n),
});
/** Our CPU backend three ways: the WebAssembly kernels on one thread and on two, and native BLAS. */
async function useCpu(threads: number, blas: boolean): Promise<void> {
  await setBackend("cpu");
  setCpuKernels({ wasm: true, blas });
  if (getCpuThreads().threads !== threads) await setCpuThreads(threads, { idleTimeoutMs: 5000 });
}
const OURS = [
  { name: "denoformers cpu wasm 1t", setup: () => useCpu(1, false), available: true },
  {
    name: "denoformers cpu wasm 2t",
    setup: () => useCpu(2, false),
    available: cpuThreadsSupported(),
  },
  { name: "denoformers cpu blas", setup: () => useCpu(1, true), available: blasAvailable() },
];
const ourX = tensor(x, { shape: [1, S, H] });
const ourA = tensor(a, { shape: [N, N] }), ourB = tensor(b, { shape: [N, N] });
const ourBert = () => noGrad(() => tidy(() => encoder.call(ourX, null).lastHiddenState));
const ourMatmul = () => ourA.matmul(ourB);
for (const { name, setup, available } of OURS) {
  if (!available) continue;
  await setup();
  for (
    const [what, run, ref] of [[BERT, ourBert, refBert], [MATMUL, ourMatmul, refMatmul]] as const
  ) {
    const y = run();
    check(`${name}, ${what}`, await y.data(), ref);
    y.dispose();
  }
}

// onnxruntime: four variants per model, each made and checked once.
const matmulBytes = matmulModel(N), bertBytes = bertLayerModel(weights, S, HEADS);
const matmulFeeds: Feeds = { a: { data: a, dims: [N, N] }, b: { data: b, dims: [N, N] } };
const bertFeeds: Feeds = { x: { data: x, dims: [S, H] } };
const ORT = [
  { name: "ort-web wasm 1t", make: ortWeb, threads: 1 },
  { name: "ort-web wasm 2t", make: ortWeb, threads: 2 },
  { name: "ort-node 1t", make: ortNode, threads: 1 },
  { name: "ort-node 2t", make: ortNode, threads: 2 },
];
const runners = new Map<string, OrtRunner | undefined>();
for (const { name, make, threads } of ORT) {
  for (
    const [group, bytes, feeds, ref] of [
      [MATMUL, matmulBytes, matmulFeeds, refMatmul],
      [BERT, bertBytes, bertFeeds, refBert],
    ] as const
  ) {
    const made: Made = await make(bytes, feeds, threads);
    if ("error" in made) {
      console.log(`note: ${name} is ignored in "${group}": ${made.error}`);
      continue;
    }
    check(`${name}, ${group}`, await made.runner.run(), ref);
    runners.set(`${group}/${name}`, made.runner);
  }
}

const ITERATIONS = { [MATMUL]: 20, [BERT]: 15 };
const settled = new Set<string>();
/** NumPy/OpenBLAS in a `python3` child (default threads, then one), where Python and NumPy exist. */
const numpy = [await NumpyPeer.start(), await NumpyPeer.start(1)];
if (numpy[0]) console.log(`numpy peer: ${numpy[0].version}`);
globalThis.addEventListener("unload", () => {
  for (const peer of numpy) for (const line of peer?.summary() ?? []) console.error(line);
});

for (const group of [MATMUL, BERT] as const) {
  const ours = group === MATMUL ? ourMatmul : ourBert;
  const tfOp = group === MATMUL
    ? () => tf.matMul(tfA, tfB)
    : () => tf.tidy(() => tfEncoderLayer(tfX, params, HEADS));
  const rows: [string, (() => Promise<unknown>) | undefined][] = [
    ...OURS.map(({ name, available }): [string, (() => Promise<unknown>) | undefined] => [
      name,
      available
        ? (async () => {
          const y: Tensor = ours();
          await y.data();
          y.dispose();
        })
        : undefined,
    ]),
    ["tfjs wasm", async () => {
      if (tf.getBackend() !== "wasm") await tf.setBackend("wasm");
      const y = tfOp();
      await y.data();
      y.dispose();
    }],
    ...ORT.map(({ name }): [string, (() => Promise<unknown>) | undefined] => {
      const r = runners.get(`${group}/${name}`);
      return [name, r && (() => r.run())];
    }),
    ...(group === MATMUL ? numpy : []).map((
      peer,
      i,
    ): [string, (() => Promise<unknown>) | undefined] => [
      `numpy (OpenBLAS${i === 0 ? "" : ", 1 thread"})`,
      peer ? () => peer.matmul(N) : undefined,
    ]),
  ];
  for (const [name, run] of rows) {
    const setup = OURS.find((o) => o.name === name)?.setup;
    Deno.bench({
      name,
      group,
      baseline: name === OURS[0].name,
      ignore: !run,
      n: ITERATIONS[group],
      warmup: 3,
      async fn(t) {
        await setup?.();
        // Native thread pools (OpenBLAS, onnxruntime, ours) spin for a while after a call; let the
        // previous row's settle before this row's first timed call.
        if (!settled.has(name)) settled.add(name), await new Promise((r) => setTimeout(r, 250));
        t.start();
        await run!();
        t.end();
      },
    });
  }
}
