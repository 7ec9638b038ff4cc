/**
 * Square float32 matmul at 256, 512 and 1024, result read back to JS memory, for our WebGPU
 * backend, our CPU backend on its WebAssembly SIMD kernel, its TypeScript reference kernel and (with
 * `--allow-ffi` and OpenBLAS installed) its native BLAS at the library's default threads and at one
 * thread, and tfjs cpu / wasm / webgpu and NumPy (`python3`, same thread settings) in the same run.
 * `scripts/bench_report.ts` turns the times into GFLOP/s (2·N³ per iteration).
 *
 * The NumPy rows include one pipe round trip to the Python child per call; the times Python
 * measured itself are logged to stderr at the end (see `_numpy.ts`).
 *
 * Usage: `deno run -A scripts/bench_report.ts benches/matmul_bench.ts`, or
 * `deno bench -A benches/matmul_bench.ts --filter cpu` for the CPU rows only.
 *
 * @module
 */

import {
  availableBackends,
  blasAvailable,
  blasInfo,
  cpuKernelCounts,
  setBackend,
  setBlasThreads,
  setCpuKernels,
  type Tensor,
  tensor,
} from "@denoformers/core";
import { tf, TFJS_BACKENDS, useTfjs, values } from "./_peers.ts";
import { NumpyPeer } from "./_numpy.ts";

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
/** Native BLAS and NumPy take milliseconds: more iterations for steadier figures. */
const nativeIterations = (n: number) => (n <= 256 ? 50 : n <= 512 ? 30 : 20);
/**
 * Two OpenBLAS instances share the cores here (ours in this process, NumPy's in the child), and an
 * idle OpenBLAS keeps its worker threads spinning for about 0.1 s after a call. Each native row
 * waits this long (untimed) before its first call, so it never runs beside the other's spinners.
 */
const SETTLE_MS = 250;
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
/** OpenBLAS's own default thread count (one per core), restored after the 1-thread rows. */
const blasThreads = blasInfo()?.threads ?? null;
const numpy = [await NumpyPeer.start(), await NumpyPeer.start(1)];
if (numpy[0]) console.error(`numpy peer: ${numpy[0].version}`);
if (blasAvailable()) console.error(`native BLAS: ${JSON.stringify(blasInfo())}`);
globalThis.addEventListener("unload", () => {
  for (const peer of numpy) for (const line of peer?.summary() ?? []) console.error(line);
});

for (const n of SIZES) {
  const a = values(n * n);
  const b = values(n * n).reverse();
  const group = `matmul N=${n}`;
  const variants = [
    { name: "webgpu", backend: "webgpu", wasm: true, blas: false, threads: null },
    { name: "cpu wasm-simd", backend: "cpu", wasm: true, blas: false, threads: null },
    { name: "cpu ts", backend: "cpu", wasm: false, blas: false, threads: null },
    { name: "cpu (native BLAS)", backend: "cpu", wasm: true, blas: true, threads: blasThreads },
    { name: "cpu (native BLAS, 1 thread)", backend: "cpu", wasm: true, blas: true, threads: 1 },
  ] as const;
  for (const { name, backend, wasm, blas, threads } of variants) {
    if (!ours.includes(backend) || (blas && !blasAvailable())) continue;
    let x: Tensor | undefined, y: Tensor | undefined;
    const slow = backend === "webgpu" || !wasm;
    const kernel = blas ? "blasMatmul" : wasm ? "wasmMatmul" : "tsMatmul";
    let settled = !blas;
    Deno.bench({
      name: `denoformers ${name}`,
      group,
      baseline: backend === "webgpu" || (!ours.includes("webgpu") && wasm && !blas),
      n: blas ? nativeIterations(n) : iterations(n, slow),
      warmup: WARMUP,
      async fn(t) {
        await setBackend(backend);
        const previous = setCpuKernels({ wasm, blas });
        if (threads !== null) setBlasThreads(threads);
        x ??= tensor(a, { shape: [n, n] });
        y ??= tensor(b, { shape: [n, n] });
        const before = cpuKernelCounts()[kernel];
        if (!settled) settled = await settle().then(() => true);
        t.start();
        const out = x.matmul(y);
        await out.data();
        t.end();
        out.dispose();
        setCpuKernels(previous);
        if (threads !== null && blasThreads !== null) setBlasThreads(blasThreads);
        if (backend === "cpu" && cpuKernelCounts()[kernel] === before) {
          throw new Error(`Cannot bench "${name}": another CPU matmul kernel ran`);
        }
      },
    });
  }
  for (const peer of numpy) {
    if (!peer) continue;
    let settled = false;
    Deno.bench({
      name: `numpy cpu (OpenBLAS${peer.threads === null ? "" : `, ${peer.threads} thread`})`,
      group,
      n: nativeIterations(n),
      warmup: WARMUP,
      async fn(t) {
        if (!settled) settled = await settle().then(() => true);
        t.start();
        await peer.matmul(n);
        t.end();
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
