/**
 * The WebAssembly SIMD matmul of the CPU backend on one thread and on a worker pool
 * (`setCpuThreads`): square float32 matmul at N = 1024 (2·N³ per iteration) and one
 * BERT-base-shaped encoder layer forward (batch 1, sequence 128, hidden 768, 12 heads,
 * feed-forward 3072), each at 1, 2 and `navigator.hardwareConcurrency` threads (when more than
 * 2). BLAS is switched off so that every float32 matmul runs on the WebAssembly kernel.
 *
 * Usage: `deno bench -A --no-check benches/threads_bench.ts`
 *
 * @module
 */

import {
  cpuKernelCounts,
  getCpuThreads,
  noGrad,
  setBackend,
  setCpuKernels,
  setCpuThreads,
  shutdownCpuThreads,
  type Tensor,
  tensor,
  tidy,
} from "@denoformers/core";
import { BertConfig, BertEncoder } from "@denoformers/models";
import { values } from "./_peers.ts";

const N = 1024, S = 128, H = 768, HEADS = 12, F = 3072;
const cores = navigator.hardwareConcurrency;
const THREADS = cores > 2 ? [1, 2, cores] : [1, 2];

/** Runs on `threads` threads from now on, starting the workers when they are not running. */
async function useThreads(threads: number): Promise<void> {
  await setBackend("cpu");
  setCpuKernels({ wasm: true, blas: false });
  const now = getCpuThreads();
  if (now.threads === threads && now.workers === threads - 1) return;
  const running = await setCpuThreads(threads, { idleTimeoutMs: 2000 });
  if (running !== threads) throw new Error(`Cannot bench ${threads} threads: ${running} started`);
}

for (const threads of THREADS) {
  let x: Tensor | undefined, y: Tensor | undefined;
  Deno.bench({
    name: `cpu wasm-simd ${threads} thread${threads > 1 ? "s" : ""}`,
    group: `matmul N=${N}`,
    baseline: threads === 1,
    n: 10,
    warmup: 3,
    async fn(t) {
      await useThreads(threads);
      x ??= tensor(values(N * N), { shape: [N, N] });
      y ??= tensor(values(N * N).reverse(), { shape: [N, N] });
      const before = cpuKernelCounts().wasmMatmulThreaded;
      t.start();
      const out = x.matmul(y);
      await out.data();
      t.end();
      out.dispose();
      if ((cpuKernelCounts().wasmMatmulThreaded > before) !== threads > 1) {
        throw new Error(`The ${threads}-thread run took the wrong kernel`);
      }
    },
  });
}

for (const threads of THREADS) {
  let layer: BertEncoder | undefined, x: Tensor | undefined;
  Deno.bench({
    name: `cpu wasm-simd ${threads} thread${threads > 1 ? "s" : ""}`,
    group: "BERT-base layer forward (b1 s128 h768)",
    baseline: threads === 1,
    n: 10,
    warmup: 3,
    async fn(t) {
      await useThreads(threads);
      layer ??= new BertEncoder(
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
      x ??= tensor(values(S * H), { shape: [1, S, H] });
      t.start();
      const y = noGrad(() => tidy(() => layer!.call(x!, null).lastHiddenState));
      await y.data();
      t.end();
      y.dispose();
    },
  });
}

globalThis.addEventListener("unload", () => shutdownCpuThreads());
