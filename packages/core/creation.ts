/**
 * Creating tensors: from data, constant fills, ranges, identity matrices and random draws.
 *
 * @module
 */

import type { BackendName } from "./backends/backend.ts";
import { convertArray, type DType, isFloat, type TypedArray } from "./dtype.ts";
import { ShapeError } from "./errors.ts";
import { sizeOf } from "./shape.ts";
import { fromTypedArray, fullOn, type NestedArray, randomTensor, type Tensor } from "./tensor.ts";

/** Options shared by the creation functions. */
export interface CreateOptions {
  /** Element type. @default {"float32"} (or the typed array's own type) */
  dtype?: DType;
  /** Track gradients for this leaf. @default {false} */
  requiresGrad?: boolean;
  /** Backend to create on. @default {the current backend} */
  backend?: BackendName;
}

function finish(t: Tensor, options: CreateOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}

function flatten(data: NestedArray): { values: number[]; shape: number[]; bool: boolean } {
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0] as NestedArray;
  }
  const values: number[] = [];
  let bool = false;
  const walk = (x: NestedArray, dim: number) => {
    if (Array.isArray(x)) {
      if (dim >= shape.length || x.length !== shape[dim]) {
        throw new ShapeError(
          "tensor",
          `Cannot create tensor from a ragged nested array: dimension ${dim} varies`,
        );
      }
      for (const v of x) walk(v, dim + 1);
      return;
    }
    if (dim !== shape.length) {
      throw new ShapeError(
        "tensor",
        `Cannot create tensor from a ragged nested array: dimension ${dim} varies`,
      );
    }
    if (typeof x === "boolean") bool = true;
    values.push(Number(x));
  };
  walk(data, 0);
  return { values, shape, bool };
}

/**
 * Creates a tensor from nested arrays, a number, or a typed array (with an optional shape).
 *
 * Numbers default to float32, booleans to bool, and typed arrays keep their type.
 *
 * @param data The values.
 * @param options dtype, requiresGrad, backend, and `shape` for flat typed arrays.
 * @returns The tensor.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 *
 * const t = tensor([[1, 2, 3], [4, 5, 6]], { dtype: "int32", backend: "cpu" });
 * assertEquals([t.shape, t.dtype], [[2, 3], "int32"]);
 * ```
 */
export function tensor(
  data: NestedArray | TypedArray,
  options: CreateOptions & { shape?: readonly number[] } = {},
): Tensor {
  let values: TypedArray;
  let shape: readonly number[];
  if (ArrayBuffer.isView(data)) {
    values = options.dtype ? convertArray(data, options.dtype) : data;
    shape = options.shape ?? [data.length];
  } else {
    const flat = flatten(data);
    values = convertArray(flat.values, options.dtype ?? (flat.bool ? "bool" : "float32"));
    shape = options.shape ?? flat.shape;
  }
  if (values === data) values = (data as TypedArray).slice();
  return finish(fromTypedArray(values, shape, options.backend), options);
}

/**
 * A tensor of `shape` filled with `value`.
 *
 * @param shape The shape.
 * @param value The fill value.
 * @param options dtype, requiresGrad, backend.
 * @returns The tensor.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { full } from "@denoformers/core";
 *
 * assertEquals(await full([2], 7, { backend: "cpu" }).toArray(), [7, 7]);
 * ```
 */
export function full(shape: readonly number[], value: number, options: CreateOptions = {}): Tensor {
  return finish(fullOn(shape, value, options.dtype ?? "float32", options.backend), options);
}

/**
 * A tensor of zeros.
 *
 * @param shape The shape.
 * @param options dtype, requiresGrad, backend.
 * @returns The tensor.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 *
 * assertEquals(await zeros([2], { backend: "cpu" }).toArray(), [0, 0]);
 * ```
 */
export function zeros(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return full(shape, 0, options);
}

/**
 * A tensor of ones.
 *
 * @param shape The shape.
 * @param options dtype, requiresGrad, backend.
 * @returns The tensor.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ones } from "@denoformers/core";
 *
 * assertEquals(await ones([2], { backend: "cpu" }).toArray(), [1, 1]);
 * ```
 */
export function ones(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return full(shape, 1, options);
}

/**
 * Zeros shaped like `t` (same dtype and backend unless overridden).
 *
 * @param t The template.
 * @param options Overrides.
 * @returns The tensor.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor, zerosLike } from "@denoformers/core";
 *
 * assertEquals(await zerosLike(tensor([1, 2], { backend: "cpu" })).toArray(), [0, 0]);
 * ```
 */
export function zerosLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, backend: t.backend, ...options });
}

/**
 * Ones shaped like `t`.
 *
 * @param t The template.
 * @param options Overrides.
 * @returns The tensor.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { onesLike, tensor } from "@denoformers/core";
 *
 * assertEquals(await onesLike(tensor([1, 2], { backend: "cpu" })).toArray(), [1, 1]);
 * ```
 */
export function onesLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, backend: t.backend, ...options });
}

/**
 * Values from `start` to `end` (exclusive) by `step`, like `torch.arange`; `arange(n)` counts
 * from 0. Integer arguments give int32, others float32.
 *
 * @param start Start, or the end when `end` is omitted.
 * @param end End (exclusive).
 * @param step Step.
 * @param options dtype, requiresGrad, backend.
 * @returns The 1-D tensor.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange } from "@denoformers/core";
 *
 * assertEquals(await arange(0, 5, 2, { backend: "cpu" }).toArray(), [0, 2, 4]);
 * ```
 */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (step === 0) throw new RangeError("Cannot arange with step 0");
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  const ints = [lo, hi, step].every(Number.isInteger);
  const dtype = options.dtype ?? (ints ? "int32" : "float32");
  const values = convertArray(Array.from({ length: n }, (_, i) => lo + i * step), dtype);
  return finish(fromTypedArray(values, [n], options.backend), options);
}

/**
 * An identity matrix (`n` rows, `m` columns).
 *
 * @param n Rows.
 * @param m Columns. @default {n}
 * @param options dtype, requiresGrad, backend.
 * @returns The matrix.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { eye } from "@denoformers/core";
 *
 * assertEquals(await eye(2, 2, { backend: "cpu" }).toArray(), [[1, 0], [0, 1]]);
 * ```
 */
export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  const values = convertArray(
    Array.from({ length: n * m }, (_, i) => +(i % m === Math.floor(i / m))),
    options.dtype ?? "float32",
  );
  return finish(fromTypedArray(values, [n, m], options.backend), options);
}

function randomFloat(
  shape: readonly number[],
  options: CreateOptions,
  dist: "uniform" | "normal",
): Tensor {
  const dtype = options.dtype ?? "float32";
  if (!isFloat(dtype)) {
    throw new TypeError(`Cannot draw random ${dtype} values: expected a float dtype`);
  }
  if (dtype === "float16") {
    // Draw in float32 (the same stream on every backend) and round once.
    return finish(randomTensor(shape, "float32", dist, options.backend).cast("float16"), options);
  }
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError("random", `Cannot draw random values of shape [${shape.join(", ")}]`, [
      shape,
    ]);
  }
  return finish(randomTensor(shape, dtype, dist, options.backend), options);
}

/**
 * Uniform samples in `[0, 1)` from the global counter-based stream (24-bit resolution, identical
 * on every backend for the same seed and call sequence).
 *
 * @param shape The shape.
 * @param options dtype, requiresGrad, backend.
 * @returns The samples.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { manualSeed, rand } from "@denoformers/core";
 *
 * manualSeed(0);
 * const u = await rand([100], { backend: "cpu" }).data();
 * assert(u.every((v) => v >= 0 && v < 1));
 * ```
 */
export function rand(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return randomFloat(shape, options, "uniform");
}

/**
 * Standard normal samples (Box–Muller over the global counter-based stream).
 *
 * @param shape The shape.
 * @param options dtype, requiresGrad, backend.
 * @returns The samples.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { manualSeed, randn } from "@denoformers/core";
 *
 * manualSeed(0);
 * const mean = await randn([4096], { backend: "cpu" }).mean().item();
 * assert(Math.abs(mean) < 0.1);
 * ```
 */
export function randn(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return randomFloat(shape, options, "normal");
}

/** Number of elements a shape holds (re-exported for convenience). */
export const numel: (shape: readonly number[]) => number = sizeOf;
