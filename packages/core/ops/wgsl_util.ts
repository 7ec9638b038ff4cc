/**
 * WGSL building blocks shared by the op families: dtype mapping, uniform packing and the strided
 * elementwise template that unary, binary, ternary and copy ops drop an expression into.
 *
 * @module
 */

import type { DType } from "../dtype.ts";
import { UnsupportedOpError } from "../errors.ts";
import { broadcastStrides, isContiguous, sizeOf } from "../shape.ts";
import type { TensorMeta, ViewMeta } from "./op_def.ts";
import { splitWorkgroups, type WgslProgram } from "./wgsl_program.ts";

/** Threads per workgroup of the one-thread-per-element kernels. */
export const ELEMENTWISE_WG = 256;

/**
 * The WGSL storage type of a dtype (bool is stored as one `u32` per element on the GPU).
 *
 * @param op The op name, for the error.
 * @param dtype The dtype.
 * @returns `"f32"`, `"i32"` or `"u32"`.
 * @throws {UnsupportedOpError} For dtypes WebGPU cannot store (`float64`).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { wgslType } from "./wgsl_util.ts";
 *
 * assertEquals(wgslType("add", "bool"), "u32");
 * ```
 */
export function wgslType(op: string, dtype: DType): "f32" | "f16" | "i32" | "u32" {
  switch (dtype) {
    case "float32":
      return "f32";
    case "float16":
      return "f16";
    case "int32":
      return "i32";
    case "bool":
      return "u32";
    case "float64":
      throw new UnsupportedOpError(op, dtype, "webgpu");
  }
  return dtype satisfies never;
}

/**
 * The type kernels compute in for a storage type: half-precision values are widened to f32 on
 * load and rounded back on store.
 *
 * @param storage A WGSL storage type.
 * @returns The compute type.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { computeType } from "./wgsl_util.ts";
 *
 * assertEquals(computeType("f16"), "f32");
 * ```
 */
export function computeType(storage: string): string {
  return storage === "f16" ? "f32" : storage;
}

/**
 * WGSL that loads `expr` (of storage type `storage`) in its compute type.
 *
 * @param storage The storage type.
 * @param expr The load expression.
 * @returns The widened expression.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { widen } from "./wgsl_util.ts";
 *
 * assertEquals(widen("f16", "in0[i]"), "f32(in0[i])");
 * ```
 */
export function widen(storage: string, expr: string): string {
  return storage === "f16" ? `f32(${expr})` : expr;
}

/**
 * WGSL that stores a compute-type value `expr` as `storage`.
 *
 * @param storage The storage type.
 * @param expr The value.
 * @returns The narrowed expression.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { narrow } from "./wgsl_util.ts";
 *
 * assertEquals(narrow("f16", "x"), "f16(x)");
 * ```
 */
export function narrow(storage: string, expr: string): string {
  return storage === "f16" ? `f16(${expr})` : expr;
}

/**
 * Declarations every program starts with: input and output bindings, the uniform array and the
 * `m(i)` accessor that reads uniform word `i`.
 *
 * @param inputTypes WGSL element type of each input (or `vec4<f32>` and similar).
 * @param outType WGSL element type of the output (may be `atomic<u32>`).
 * @param words Number of uniform words.
 * @returns WGSL source.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { bindingsWgsl } from "./wgsl_util.ts";
 *
 * assert(bindingsWgsl(["f32"], "f32", 3).includes("var<storage, read_write> out: array<f32>"));
 * ```
 */
export function bindingsWgsl(
  inputTypes: readonly string[],
  outType: string,
  words: number,
): string {
  const lines = inputTypes.map((t, i) =>
    `@group(0) @binding(${i}) var<storage, read> in${i}: array<${t}>;`
  );
  const n = inputTypes.length;
  lines.push(`@group(0) @binding(${n}) var<storage, read_write> out: array<${outType}>;`);
  lines.push(
    `@group(0) @binding(${n + 1}) var<uniform> u: array<vec4<u32>, ${
      Math.max(1, Math.ceil(words / 4))
    }>;`,
  );
  lines.push(`fn m(i: u32) -> u32 { return u[i >> 2u][i & 3u]; }`);
  return lines.join("\n");
}

/**
 * Declares the error buffer a bounds-checking kernel binds after its uniforms, and `report(code,
 * value, limit)`, which records the first bad index it sees.
 *
 * @param inputs The number of inputs of the program.
 * @returns WGSL source.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { errorsWgsl } from "./wgsl_util.ts";
 *
 * assert(errorsWgsl(2).includes("@binding(4)"));
 * ```
 */
export function errorsWgsl(inputs: number): string {
  return `@group(0) @binding(${inputs + 2}) var<storage, read_write> errs: array<atomic<u32>, 4>;
fn report(code: u32, value: i32, limit: u32) {
  if (atomicCompareExchangeWeak(&errs[0], 0u, code).exchanged) {
    atomicStore(&errs[1], bitcast<u32>(value));
    atomicStore(&errs[2], limit);
  }
}`;
}

/**
 * Packs numbers into uniform words; negative integers are stored as two's complement.
 *
 * @param words The values.
 * @returns The words, padded to a multiple of 4.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { packUniforms } from "./wgsl_util.ts";
 *
 * assertEquals(packUniforms([1, -1]), new Uint32Array([1, 4294967295, 0, 0]));
 * ```
 */
export function packUniforms(words: readonly number[]): Uint32Array {
  const out = new Uint32Array(Math.max(4, Math.ceil(words.length / 4) * 4));
  for (let i = 0; i < words.length; i++) out[i] = words[i] >>> 0;
  return out;
}

/**
 * Merges adjacent dimensions that every operand walks densely, so kernels index fewer dimensions.
 *
 * @param shape The iteration shape.
 * @param stridesList One stride list per operand, aligned with `shape`.
 * @returns The coalesced shape and strides.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { coalesceDims } from "./wgsl_util.ts";
 *
 * assertEquals(coalesceDims([2, 3, 4], [[12, 4, 1]]), { shape: [24], strides: [[1]] });
 * ```
 */
export function coalesceDims(
  shape: readonly number[],
  stridesList: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const dims: number[] = [];
  const strides: number[][] = stridesList.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = dims.length - 1;
    if (
      last >= 0 && stridesList.every((s, k) => strides[k][last] === s[d] * shape[d])
    ) {
      dims[last] *= shape[d];
      stridesList.forEach((s, k) => (strides[k][last] = s[d]));
      continue;
    }
    dims.push(shape[d]);
    stridesList.forEach((s, k) => strides[k].push(s[d]));
  }
  return { shape: dims, strides };
}

/**
 * Builds a one-thread-per-output-element program reading each input through its (broadcast)
 * strides and writing `expr(v0, v1, …)` to the contiguous output.
 *
 * Workgroup layout: 256 threads in x; the flat element index spans x and y of the grid.
 *
 * @param name The op name (key prefix).
 * @param inputs The input views.
 * @param outMeta The output shape and dtype.
 * @param expr Builds the WGSL expression from the loaded values `v0`, `v1`, ….
 * @param keyExtra Anything else the expression depends on.
 * @returns The program.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { elementwiseProgram } from "./wgsl_util.ts";
 *
 * const x = { shape: [4], strides: [1], offset: 0, dtype: "float32" as const };
 * const p = elementwiseProgram("exp", [x], { shape: [4], dtype: "float32" }, (v) => `exp(${v[0]})`);
 * assert(p.code().includes("exp(v0)"));
 * ```
 */
export function elementwiseProgram(
  name: string,
  inputs: readonly ViewMeta[],
  outMeta: TensorMeta,
  expr: (values: string[]) => string,
  keyExtra = "",
): WgslProgram {
  const size = sizeOf(outMeta.shape);
  const bstrides = inputs.map((x) => broadcastStrides(x.shape, x.strides, outMeta.shape));
  const { shape, strides } = coalesceDims(outMeta.shape, bstrides);
  const nd = shape.length;
  const dense = strides.map((s) => isContiguous(shape, s));
  const words = [size, ...shape];
  const offsetAt: number[] = [];
  const strideAt: number[] = [];
  inputs.forEach((x, k) => {
    offsetAt.push(words.length);
    words.push(x.offset);
    strideAt.push(words.length);
    words.push(...strides[k]);
  });
  const inTypes = inputs.map((x) => wgslType(name, x.dtype));
  const outType = wgslType(name, outMeta.dtype);
  const values = inputs.map((_, k) => `v${k}`);
  const key = `${name}|${keyExtra}|${inTypes.join(",")}>${outType}|nd${nd}|${
    dense.map(Number).join("")
  }`;
  const code = () => {
    const body: string[] = [];
    const needWalk = dense.some((d) => !d);
    if (needWalk) {
      body.push("  var rem = i;");
      inputs.forEach((_, k) => {
        if (!dense[k]) body.push(`  var o${k} = m(${offsetAt[k]}u);`);
      });
      for (let d = nd - 1; d >= 0; d--) {
        body.push(`  { let c = rem % m(${1 + d}u); rem = rem / m(${1 + d}u);`);
        inputs.forEach((_, k) => {
          if (!dense[k]) body.push(`    o${k} = o${k} + c * m(${strideAt[k] + d}u);`);
        });
        body.push("  }");
      }
    }
    inputs.forEach((_, k) => {
      const at = dense[k] ? `m(${offsetAt[k]}u) + i` : `o${k}`;
      body.push(`  let v${k} = ${widen(inTypes[k], `in${k}[${at}]`)};`);
    });
    return `${bindingsWgsl(inTypes, outType, words.length)}
@compute @workgroup_size(${ELEMENTWISE_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${ELEMENTWISE_WG}u;
  if (i >= m(0u)) { return; }
${body.join("\n")}
  out[i] = ${narrow(outType, expr(values))};
}`;
  };
  return {
    key,
    code,
    workgroups: splitWorkgroups(Math.ceil(size / ELEMENTWISE_WG)),
    uniforms: packUniforms(words),
  };
}
