/**
 * Shared pieces of the safetensors modules: the error class, the dtype table, the header and
 * entry types, and small validation helpers.
 *
 * @module
 */

import type { BackendName } from "../backends/backend.ts";

/**
 * A file, header or tensor entry is malformed, or a value does not fit our dtypes.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { SafetensorsError } from "./safetensors.ts";
 *
 * const e = new SafetensorsError('Cannot read tensor "w": unknown dtype "F128"', "w");
 * assert(e instanceof Error && e.tensor === "w" && e.name === "SafetensorsError");
 * ```
 */
export class SafetensorsError extends Error {
  /** The tensor the problem is about, when there is one. */
  readonly tensor?: string;
  /**
   * Creates the error.
   *
   * @param message The message, in "Cannot <action>: <state>" form.
   * @param tensor The tensor name, when the problem is about one tensor.
   */
  constructor(message: string, tensor?: string) {
    super(message);
    this.name = "SafetensorsError";
    if (tensor !== undefined) this.tensor = tensor;
  }
}

/** A dtype name as written in safetensors headers. */
export type SafetensorsDType =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U8"
  | "BOOL"
  | "U16"
  | "U32"
  | "U64";

/**
 * Bytes per element of every supported dtype.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { SAFETENSORS_DTYPE_SIZES } from "./safetensors.ts";
 *
 * assertEquals(SAFETENSORS_DTYPE_SIZES.BF16, 2);
 * ```
 */
export const SAFETENSORS_DTYPE_SIZES: Readonly<Record<SafetensorsDType, number>> = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
});

// The reference `Dtype` enum order (its writer lays tensors out by this rank, descending).
export const RANK: ReadonlyMap<string, number> = new Map(
  Object.keys(SAFETENSORS_DTYPE_SIZES).map((d, i) => [d, i]),
);

/** One tensor's header entry. */
export interface SafetensorsEntry {
  /** The element type. */
  readonly dtype: SafetensorsDType;
  /** The dimensions. */
  readonly shape: readonly number[];
  /** `[begin, end)` byte range, relative to the start of the data buffer. */
  readonly dataOffsets: readonly [number, number];
}

/** A validated header. */
export interface SafetensorsHeader {
  /** Every tensor, in data-buffer order. */
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  /** The `__metadata__` strings (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Byte offset of the data buffer in the file (8 + header length). */
  readonly dataStart: number;
}

/** Options for turning stored tensors into {@linkcode Tensor}s. */
export interface ReadOptions {
  /** Backend to create tensors on. @default {the current backend} */
  backend?: BackendName;
  /** Keep F16 as float16 instead of widening to float32 (BF16 always widens). @default {false} */
  keepFloat16?: boolean;
}

/** One tensor given as raw little-endian bytes, written byte-exactly in any dtype. */
export interface RawTensor {
  /** The element type. */
  dtype: SafetensorsDType;
  /** The dimensions. */
  shape: readonly number[];
  /** `product(shape) × size(dtype)` bytes. */
  data: Uint8Array;
}

/**
 * @internal The one place decoding allocates memory sized by file contents; tests wrap it to check
 * that nothing is allocated for a rejected header and that allocations stay bounded by the file.
 */
export const _internals: { allocate(byteLength: number): ArrayBuffer } = {
  allocate: (byteLength) => new ArrayBuffer(byteLength),
};

export const MAX_HEADER = 100_000_000;
export const ENTRY_KEYS = ["dtype", "shape", "data_offsets"];

export const quote = (s: string): string => JSON.stringify(s);
export function show(v: unknown): string {
  const s = String(JSON.stringify(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
export const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
export const fail = (name: string, what: string) =>
  new SafetensorsError(`Cannot read tensor ${quote(name)}: ${what}`, name);

/** Sets `key` as an own property even when it is `"__proto__"`. */
export function define<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** Element count, or Infinity when it is not a safe integer. */
export function countOf(shape: readonly number[]): number {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) if ((n *= d) > Number.MAX_SAFE_INTEGER) return Infinity;
  return n;
}

export function byteSize(name: string, dtype: SafetensorsDType, shape: readonly number[]): number {
  const need = countOf(shape) * SAFETENSORS_DTYPE_SIZES[dtype];
  if (!Number.isSafeInteger(need)) {
    throw fail(name, `shape [${shape.join(", ")}] of dtype ${dtype} needs more than 2^53 bytes`);
  }
  return need;
}
