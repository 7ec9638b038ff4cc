/**
 * The CPU side of the elementwise primitives: the reference loop over broadcast inputs, the
 * dispatch of float32 ops to the WebAssembly SIMD kernels, and the strided copy.
 *
 * @module
 */

import type { TypedArray } from "../dtype.ts";
import { contiguousStrides, isContiguous, sizeOf } from "../shape.ts";
import { broadcastOffsets, gatherStrided } from "./cpu_util.ts";
import type { CpuView, TensorMeta } from "./op_def.ts";
import { countCpuKernel, getCpuKernels } from "../backends/cpu_kernels.ts";
import { wasmBinary, type WasmBinaryOp, wasmUnary, wasmWhere } from "../wasm/wasm_elementwise.ts";

/** A scalar kernel: the op applied to one element of each input. */
export type Fn = (...v: number[]) => number;

/**
 * The reference loop: `out[i] = f(inputs at i)` over the broadcast output, reading strided and
 * broadcast inputs through offset tables.
 *
 * @param f The scalar kernel.
 * @param inputs The input views.
 * @param out The contiguous output.
 * @param outMeta The output's shape.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { runCpu } from "./elementwise_cpu.ts";
 *
 * const a = { data: new Float64Array([1, 2]), shape: [2], strides: [1], offset: 0, dtype: "float64" as const };
 * const out = new Float64Array(2);
 * runCpu((x, y) => x * y, [a, a], out, { shape: [2], dtype: "float64" });
 * assertEquals(Array.from(out), [1, 4]);
 * ```
 */
export function runCpu(
  f: Fn,
  inputs: readonly CpuView[],
  out: TypedArray,
  outMeta: TensorMeta,
): void {
  const n = out.length;
  const offs = inputs.map((x) => broadcastOffsets(x, outMeta.shape));
  if (inputs.length === 1) {
    const x = inputs[0].data;
    const o = offs[0];
    const base = inputs[0].offset;
    if (o) { for (let i = 0; i < n; i++) out[i] = f(x[o[i]]); }
    else for (let i = 0; i < n; i++) out[i] = f(x[base + i]);
    return;
  }
  if (inputs.length === 2) {
    const [a, b] = [inputs[0].data, inputs[1].data];
    const [oa, ob] = offs;
    const [ba, bb] = [inputs[0].offset, inputs[1].offset];
    for (let i = 0; i < n; i++) out[i] = f(a[oa ? oa[i] : ba + i], b[ob ? ob[i] : bb + i]);
    return;
  }
  if (inputs.length === 3) {
    const [a, b, c] = [inputs[0].data, inputs[1].data, inputs[2].data];
    const [oa, ob, oc] = offs;
    const [ba, bb, bc] = [inputs[0].offset, inputs[1].offset, inputs[2].offset];
    for (let i = 0; i < n; i++) {
      out[i] = f(a[oa ? oa[i] : ba + i], b[ob ? ob[i] : bb + i], c[oc ? oc[i] : bc + i]);
    }
    return;
  }
  const vals = new Array<number>(inputs.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < inputs.length; k++) {
      const o = offs[k];
      vals[k] = inputs[k].data[o ? o[i] : inputs[k].offset + i];
    }
    out[i] = f(...vals);
  }
}

const WASM_BINARY = new Set(["add", "sub", "mul", "div"]);

/**
 * Runs a float32 op on the WebAssembly SIMD kernels where one exists and the layout suits it;
 * `false` leaves the op to the TypeScript reference kernel.
 *
 * @param name The op's name.
 * @param inputs The input views.
 * @param out The contiguous output.
 * @param outMeta The output's shape.
 * @param args The op's arguments (GELU's `approximate`).
 * @returns Whether a WebAssembly kernel wrote `out`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { runWasm } from "./elementwise_cpu.ts";
 *
 * const a = { data: new Float32Array([1, 2]), shape: [2], strides: [1], offset: 0, dtype: "float32" as const };
 * const out = new Float32Array(2);
 * if (runWasm("add", [a, a], out, { shape: [2], dtype: "float32" }, undefined)) {
 *   assertEquals(Array.from(out), [2, 4]);
 * }
 * ```
 */
export function runWasm(
  name: string,
  inputs: readonly CpuView[],
  out: TypedArray,
  outMeta: TensorMeta,
  args: unknown,
): boolean {
  if (!getCpuKernels().wasm) return false;
  if (name === "where") {
    const done = wasmWhere(inputs[0], inputs[1], inputs[2], out, outMeta.shape);
    if (done) countCpuKernel("wasm.where");
    return done;
  }
  if (!(out instanceof Float32Array)) return false;
  let done = false;
  if (WASM_BINARY.has(name)) {
    const op = name as WasmBinaryOp;
    done = wasmBinary(op, inputs[0], inputs[1], out, outMeta.shape) ||
      // A transposed or permuted operand: gather it densely first (one tiled pass), then retry.
      (inputs.some((x) => !isContiguous(x.shape, x.strides)) &&
        wasmBinary(op, dense(inputs[0]), dense(inputs[1]), out, outMeta.shape));
  } else if (name === "exp" || name === "sigmoid" || name === "erf" || name === "neg") {
    done = wasmUnary(name, dense(inputs[0]), out);
  } else if (name === "gelu") {
    const tanh = (args as { approximate?: string }).approximate === "tanh";
    done = wasmUnary(tanh ? "geluTanh" : "gelu", dense(inputs[0]), out);
  }
  if (done) countCpuKernel(`wasm.${name}`);
  return done;
}

/** The view itself when contiguous, else a dense float32 copy of it. */
function dense(x: CpuView): CpuView {
  if (isContiguous(x.shape, x.strides) || !(x.data instanceof Float32Array)) return x;
  const data = new Float32Array(sizeOf(x.shape));
  gatherStrided(x.data, x.offset, x.shape, x.strides, data);
  return { ...x, data, strides: contiguousStrides(x.shape), offset: 0 };
}

/**
 * The strided copy behind `contiguous`: dense runs as blocks, transposes in tiles.
 *
 * @param inputs The one input view.
 * @param out The contiguous output.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { copyCpu } from "./elementwise_cpu.ts";
 *
 * const t = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2], strides: [1, 2], offset: 0, dtype: "float32" as const };
 * const out = new Float32Array(4);
 * copyCpu([t], out);
 * assertEquals(Array.from(out), [1, 3, 2, 4]);
 * ```
 */
export function copyCpu(inputs: readonly CpuView[], out: TypedArray): void {
  const [x] = inputs;
  if (x.data.constructor !== out.constructor) {
    return runCpu((v) => v, inputs, out, { shape: x.shape, dtype: x.dtype });
  }
  gatherStrided(x.data, x.offset, x.shape, x.strides, out);
}
