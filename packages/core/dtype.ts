/**
 * Element types and their storage.
 *
 * @module
 */

/**
 * The element type of a tensor.
 *
 * `"float16"` is stored as IEEE half precision (a `Float16Array` on the CPU; WebGPU needs the
 * adapter's `shader-f16` feature). Kernels compute in float32 and round results to half.
 * `"int32"` holds what Hugging Face passes as `LongTensor` (token ids, labels). `"float64"` runs on
 * the CPU backend only; it exists so gradients can be checked against finite differences.
 */
export type DType = "float32" | "int32" | "bool" | "float64" | "float16";

/** Typed array holding the elements of a tensor of the given dtype. */
export type TypedArray = Float32Array | Float64Array | Float16Array | Int32Array | Uint8Array;

/** Maps a dtype to the typed array that `Tensor.data()` returns for it. */
export interface DTypeArrayMap {
  /** 32-bit floats. */
  float32: Float32Array;
  /** 64-bit floats (CPU only). */
  float64: Float64Array;
  /** 16-bit floats. */
  float16: Float16Array;
  /** 32-bit signed integers. */
  int32: Int32Array;
  /** Booleans, one byte each (0 or 1). */
  bool: Uint8Array;
}

/** Every dtype, in promotion order (a later entry wins in a mixed binary op). */
export const DTYPES: readonly DType[] = ["bool", "int32", "float16", "float32", "float64"];

/**
 * Allocates a zeroed typed array for `n` elements of `dtype`.
 *
 * @param dtype The element type.
 * @param n The number of elements.
 * @returns A zero-filled typed array.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { allocArray } from "./dtype.ts";
 *
 * assertEquals(allocArray("int32", 2), new Int32Array(2));
 * ```
 */
export function allocArray(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(n);
    case "float64":
      return new Float64Array(n);
    case "float16":
      return new Float16Array(n);
    case "int32":
      return new Int32Array(n);
    case "bool":
      return new Uint8Array(n);
  }
  return dtype satisfies never;
}

/**
 * Whether a dtype holds floating-point values (and so can carry gradients).
 *
 * @param dtype The element type.
 * @returns `true` for `"float16"`, `"float32"` and `"float64"`.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { isFloat } from "./dtype.ts";
 *
 * assert(isFloat("float32") && !isFloat("int32"));
 * ```
 */
export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64" || dtype === "float16";
}

/**
 * The dtype a binary op computes in when its operands differ (PyTorch's promotion lattice,
 * restricted to our dtypes).
 *
 * @param a The first dtype.
 * @param b The second dtype.
 * @returns The wider of the two.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { promoteTypes } from "./dtype.ts";
 *
 * assertEquals(promoteTypes("int32", "float32"), "float32");
 * ```
 */
export function promoteTypes(a: DType, b: DType): DType {
  return DTYPES.indexOf(a) >= DTYPES.indexOf(b) ? a : b;
}

/**
 * Converts a typed array to `dtype`, rounding floats toward zero for `"int32"` and mapping non-zero
 * values to 1 for `"bool"`, as `Tensor.cast` does.
 *
 * @param src The source values.
 * @param dtype The target element type.
 * @returns A new typed array (or `src` itself when it already has the right type).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { convertArray } from "./dtype.ts";
 *
 * assertEquals(convertArray(new Float32Array([1.7, -1.7, 0]), "int32"), new Int32Array([1, -1, 0]));
 * ```
 */
export function convertArray(src: TypedArray | readonly number[], dtype: DType): TypedArray {
  if (ArrayBuffer.isView(src) && arrayDType(src) === dtype) return src;
  const out = allocArray(dtype, src.length);
  if (dtype === "bool") {
    for (let i = 0; i < src.length; i++) out[i] = src[i] ? 1 : 0;
  } else if (dtype === "int32") {
    for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]);
  } else {
    for (let i = 0; i < src.length; i++) out[i] = src[i];
  }
  return out;
}

/**
 * The dtype whose storage a typed array is.
 *
 * @param a A typed array.
 * @returns Its dtype.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arrayDType } from "./dtype.ts";
 *
 * assertEquals(arrayDType(new Uint8Array(1)), "bool");
 * ```
 */
export function arrayDType(a: TypedArray): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Float16Array) return "float16";
  if (a instanceof Int32Array) return "int32";
  return "bool";
}
