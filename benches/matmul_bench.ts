/**
 * Square float32 matmul at 256, 512 and 1024, result read back to JS memory, for our WebGPU
 * backend, our CPU backend on its WebAssembly SIMD kernel and on its TypeScript reference kernel,
 * and tfjs cpu / wasm / webgpu in the same run. `scripts/bench_report.ts` turns the times into
 * GFLOP/s (2·N³ per iteration).
 *
 * @module
 */

import {
  availableBackends,
  cpuKernelCounts,
  setBackend,
  setCpuKernels,
  type Tensor,
  tensor,
} from "@denoformers/core";
import { tf, TFJS_BACKENDS, useTfjs, values } from "./_peers.ts";

const SIZES = [256, 512, 1024];
const ours = await availableBackends();
/** Slow variants get fewer iterations so the whole file stays within a few minutes. */
const iterations = (
  n: number,
  slow: boolean,
) => (n <= 256 ? 20 : n <= 512 ? (slow ? 4 : 10) : slow ? 3 : 5);
/**
 * Every library gets the same warm-up: on the software adapter fresh GPU buffers page-fault on
 * first touch, so the first few calls of any WebGPU library run up to 2x slower.
 */
const WARMUP = 3;

for (const n of SIZES) {
  const a = values(n * n);
  const b = values(n * n).reverse();
  const group = `matmul N=${n}`;
  const variants = [
    { name: "webgpu", backend: "webgpu", wasm: true },
    { name: "cpu wasm-simd", backend: "cpu", wasm: true },
    { name: "cpu ts", backend: "cpu", wasm: false },
  ] as const;
  for (const { name, backend, wasm } of variants) {
    if (!ours.includes(backend)) continue;
    let x: Tensor | undefined, y: Tensor | undefined;
    const slow = backend === "webgpu" || !wasm;
    Deno.bench({
      name: `denoformers ${name}`,
      group,
      baseline: backend === "webgpu" || (!ours.includes("webgpu") && wasm),
      n: iterations(n, slow),
      warmup: WARMUP,
      async fn(t) {
        await setBackend(backend);
        const previous = setCpuKernels({ wasm });
        x ??= tensor(a, { shape: [n, n] });
        y ??= tensor(b, { shape: [n, n] });
        const before = cpuKernelCounts().wasmMatmul;
        t.start();
        const out = x.matmul(y);
        await out.data();
        t.end();
        out.dispose();
        setCpuKernels(previous);
        if (backend === "cpu" && (cpuKernelCounts().wasmMatmul > before) !== wasm) {
          throw new Error(`Cannot bench "${name}": the other CPU matmul kernel ran`);
        }
      },
    });
  }
  for (const backend of TFJS_BACKENDS) {
    Deno.bench({
      name: `tfjs ${backend}`,
      group,
      n: iterations(n, backend !== "wasm"),
      warmup: WARMUP,
      async fn(t) {
        await useTfjs(backend);
        const x = tf.tensor2d(a, [n, n]);
        const y = tf.tensor2d(b, [n, n]);
        await x.data();
        await y.data();
        t.start();
        const out = tf.matMul(x, y);
        await out.data();
        t.end();
        tf.dispose([x, y, out]);
      },
    });
  }
}
