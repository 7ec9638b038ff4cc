/**
 * Benchmarks the WGSL matmul kernel from `packages/core/ops/wgsl_matmul.ts` on the local WebGPU
 * adapter, with no backend in between: square float32 matmuls in three layouts (row-major,
 * transposed B as in `x @ W^T`, transposed A read in place).
 *
 * Two timings per case, each the median of `--reps` runs after a warm-up:
 * - `single`: one dispatch, then `await device.queue.onSubmittedWorkDone()` (pays the fixed cost
 *   of a round trip to the queue, about 11 ms on llvmpipe);
 * - `multi`: several dispatches in one submit (`--per-submit`, by default enough for about
 *   2 GFLOP and at least 4), one wait, time divided by the count.
 *
 * `--shapes` adds rectangular cases as `MxNxK:layout`, e.g. the three matmuls of a BERT FFN
 * layer's forward and backward pass: `--shapes=128x3072x768:nn,128x768x3072:nt,768x3072x128:tn`.
 *
 * ```sh
 * deno run -A scripts/tune_wgsl_matmul.ts [--sizes=256,512,1024] [--layouts=nn,nt,tn]
 *   [--shapes=MxNxK:layout,...] [--reps=7] [--per-submit=N] [--json]
 * ```
 *
 * @module
 */

import { type MatmulOperand, matmulProgram } from "../packages/core/ops/wgsl_matmul.ts";

const args = Object.fromEntries(
  Deno.args.map((a) => a.replace(/^--/, "").split("=")).map(([k, v]) => [k, v ?? "true"]),
);
const sizes = (args.sizes ?? "256,512,1024").split(",").filter(Boolean).map(Number);
const layouts = (args.layouts ?? "nn,nt,tn").split(",");
const reps = Number(args.reps ?? 7);

/** One benchmark case: `[m, n, k]` with a layout. */
interface Case {
  layout: string;
  m: number;
  n: number;
  k: number;
}
const cases: Case[] = sizes.flatMap((n) => layouts.map((layout) => ({ layout, m: n, n, k: n })));
for (const item of (args.shapes ?? "").split(",").filter(Boolean)) {
  const [dims, layout = "nn"] = item.split(":");
  const [m, n, k] = dims.split("x").map(Number);
  cases.push({ layout, m, n, k });
}

const LAYOUT_NAMES: Record<string, string> = {
  nn: "row-major A @ B",
  nt: "A @ B^T (B stored [N,K])",
  tn: "A^T @ B (A stored [K,M])",
  tt: "A^T @ B^T",
};

const adapter = await navigator.gpu?.requestAdapter();
if (!adapter) {
  console.error("No WebGPU adapter.");
  Deno.exit(1);
}
const device = await adapter.requestDevice({
  requiredLimits: {
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
  },
});
device.addEventListener("uncapturederror", (e) => {
  console.error((e as GPUUncapturedErrorEvent).error.message);
  Deno.exit(1);
});

/** A `rows × cols` operand stored row-major, or transposed (as a row-major `cols × rows`). */
function operand(rows: number, cols: number, transposed: boolean): MatmulOperand {
  return transposed
    ? { offset: 0, batchStride: 0, rowStride: 1, colStride: rows }
    : { offset: 0, batchStride: 0, rowStride: cols, colStride: 1 };
}

function randomMatrix(length: number, seed: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(length);
  let s = seed;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

const median = (xs: number[]) => xs.toSorted((p, q) => p - q)[xs.length >> 1];

interface Row extends Case {
  perSubmit: number;
  key: string;
  singleMs: number;
  multiMs: number;
  single: number;
  multi: number;
  maxAbsErr: number;
}
const rows: Row[] = [];
const info = adapter.info;
console.error(`adapter: ${info.vendor} ${info.description || info.device}`.trim());

for (const { layout, m, n, k } of cases) {
  const a = randomMatrix(m * k, 1), b = randomMatrix(k * n, 2);
  const buffer = (floats: number, usage: number) =>
    device.createBuffer({ size: Math.ceil(floats / 4) * 16, usage });
  const bufA = buffer(m * k, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
  const bufB = buffer(k * n, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
  const bufOut = buffer(m * n, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
  const staging = buffer(m * n, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
  device.queue.writeBuffer(bufA, 0, a);
  device.queue.writeBuffer(bufB, 0, b);
  const spec = {
    batch: 1,
    m,
    n,
    k,
    a: operand(m, k, layout[0] === "t"),
    b: operand(k, n, layout[1] === "t"),
  };
  const program = matmulProgram(spec);
  const module = device.createShaderModule({ code: program.code() });
  const pipeline = device.createComputePipeline({ layout: "auto", compute: { module } });
  const uniforms = device.createBuffer({
    size: program.uniforms.byteLength,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(uniforms, 0, program.uniforms as Uint32Array<ArrayBuffer>);
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [bufA, bufB, bufOut, uniforms].map((buf, binding) => ({
      binding,
      resource: { buffer: buf },
    })),
  });
  const run = async (dispatches: number, readback = false) => {
    const encoder = device.createCommandEncoder();
    for (let i = 0; i < dispatches; i++) {
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(...program.workgroups);
      pass.end();
    }
    if (readback) encoder.copyBufferToBuffer(bufOut, 0, staging, 0, staging.size);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  };

  // Warm-up (pipeline compilation) and a spot check against a float64 dot product.
  await run(1, true);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  let maxAbsErr = 0;
  for (let t = 0; t < 16; t++) {
    const i = (t * 7919) % m, j = (t * 104729 + 3) % n;
    let s = 0;
    for (let p = 0; p < k; p++) {
      s += a[spec.a.rowStride * i + spec.a.colStride * p] *
        b[spec.b.rowStride * p + spec.b.colStride * j];
    }
    maxAbsErr = Math.max(maxAbsErr, Math.abs(s - out[i * n + j]));
  }
  if (!(maxAbsErr < 1e-4 * Math.sqrt(k))) throw new Error(`${layout} ${m}x${n}x${k}: wrong result`);

  const flop = 2 * m * n * k;
  const perSubmit = Number(args["per-submit"] ?? Math.max(4, Math.ceil(2e9 / flop)));
  await run(perSubmit);
  const single: number[] = [], multi: number[] = [];
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    await run(1);
    single.push(performance.now() - t0);
    t0 = performance.now();
    await run(perSubmit);
    multi.push((performance.now() - t0) / perSubmit);
  }
  const row: Row = {
    layout,
    m,
    n,
    k,
    perSubmit,
    key: program.key,
    singleMs: median(single),
    multiMs: median(multi),
    single: flop / median(single) / 1e6,
    multi: flop / median(multi) / 1e6,
    maxAbsErr,
  };
  rows.push(row);
  console.error(
    `${layout} ${m}x${n}x${k}: single ${row.single.toFixed(2)} GFLOP/s, ` +
      `multi(x${perSubmit}) ${row.multi.toFixed(2)} GFLOP/s (${row.key})`,
  );
  for (const buf of [bufA, bufB, bufOut, staging, uniforms]) buf.destroy();
}

if (args.json) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  console.log(
    `\nMedian GFLOP/s over ${reps} runs (single = 1 dispatch + wait; ` +
      `multi = several dispatches per submit, one wait)\n`,
  );
  console.log("| layout | M×N×K | single | multi | dispatches/submit | kernel |");
  console.log("|---|---|---:|---:|---:|---|");
  for (const r of rows) {
    console.log(
      `| ${LAYOUT_NAMES[r.layout] ?? r.layout} | ${r.m}×${r.n}×${r.k} | ${r.single.toFixed(2)} | ` +
        `${r.multi.toFixed(2)} | ${r.perSubmit} | ${r.key} |`,
    );
  }
}
device.destroy();
