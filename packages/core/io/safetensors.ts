/**
 * The safetensors format in memory: the dtype table, header parsing and validation, decoding
 * tensors from their little-endian bytes, and writing files byte-for-byte as the reference
 * (Rust) writer does.
 *
 * A file is an 8-byte little-endian header length `N`, `N` bytes of UTF-8 JSON naming every
 * tensor's `dtype`, `shape` and `data_offsets` (plus an optional `__metadata__` object of
 * strings), then the data buffer the offsets point into. The header is validated completely
 * before anything sized by it is allocated.
 *
 * @module
 */

import type { BackendName } from "../backends/backend.ts";
import { getBackend } from "../backends/registry.ts";
import type { TypedArray } from "../dtype.ts";
import { fromTypedArray, type Tensor } from "../tensor.ts";
import {
  _internals,
  byteSize,
  define,
  fail,
  isCount,
  quote,
  RANK,
  type ReadOptions,
  SAFETENSORS_DTYPE_SIZES,
  type SafetensorsDType,
  type SafetensorsEntry,
  type SafetensorsError,
  type SafetensorsHeader,
  show,
} from "./_safetensors_format.ts";
import { parseSafetensorsHeader } from "./_safetensors_header.ts";

export {
  _internals,
  type RawTensor,
  type ReadOptions,
  SAFETENSORS_DTYPE_SIZES,
  type SafetensorsDType,
  type SafetensorsEntry,
  SafetensorsError,
  type SafetensorsHeader,
} from "./_safetensors_format.ts";
export { parseSafetensorsHeader, readHeaderLength } from "./_safetensors_header.ts";
export { planSafetensors, serializeSafetensors } from "./_safetensors_writer.ts";

type Ctor<T> = {
  new (buffer: ArrayBufferLike, offset: number, length: number): T;
  BYTES_PER_ELEMENT: number;
};

/** A typed view of `bytes`, copied first when the bytes are not aligned for `C`. */
function view<T>(C: Ctor<T>, bytes: Uint8Array, length: number): T {
  if (bytes.byteOffset % C.BYTES_PER_ELEMENT === 0) {
    return new C(bytes.buffer, bytes.byteOffset, length);
  }
  return new C(copy(bytes), 0, length);
}
function copy(bytes: Uint8Array): ArrayBuffer {
  const buffer = _internals.allocate(bytes.length);
  new Uint8Array(buffer).set(bytes);
  return buffer;
}
function widen<T extends TypedArray>(C: Ctor<T>, src: ArrayLike<number>): T {
  const out = new C(_internals.allocate(src.length * C.BYTES_PER_ELEMENT), 0, src.length);
  (out as unknown as { set(a: ArrayLike<number>): void }).set(src);
  return out;
}

function decodeValues(
  name: string,
  dtype: SafetensorsDType,
  bytes: Uint8Array,
  n: number,
  backend: BackendName,
  keepFloat16: boolean,
): TypedArray {
  switch (dtype) {
    case "F32":
      return new Float32Array(copy(bytes), 0, n);
    case "I32":
      return new Int32Array(copy(bytes), 0, n);
    case "F16":
      if (keepFloat16) return new Float16Array(copy(bytes), 0, n);
      return widen(Float32Array, view(Float16Array, bytes, n));
    case "F64":
      if (backend === "cpu") return new Float64Array(copy(bytes), 0, n);
      return widen(Float32Array, view(Float64Array, bytes, n));
    case "BF16": {
      const src = view(Uint16Array, bytes, n);
      const bits = new Uint32Array(_internals.allocate(n * 4), 0, n);
      for (let i = 0; i < n; i++) bits[i] = src[i] << 16;
      return new Float32Array(bits.buffer, 0, n);
    }
    case "I16":
      return widen(Int32Array, view(Int16Array, bytes, n));
    case "U16":
      return widen(Int32Array, view(Uint16Array, bytes, n));
    case "I8":
      return widen(Int32Array, new Int8Array(bytes.buffer, bytes.byteOffset, n));
    case "U8":
      return widen(Int32Array, bytes);
    case "BOOL": {
      const out = new Uint8Array(copy(bytes), 0, n);
      for (let i = 0; i < n; i++) out[i] = out[i] !== 0 ? 1 : 0;
      return out;
    }
    case "U32": {
      const src = view(Uint32Array, bytes, n);
      for (let i = 0; i < n; i++) if (src[i] > 0x7fffffff) throw tooWide(name, dtype, src[i], i);
      return widen(Int32Array, src);
    }
    case "I64":
    case "U64": {
      const words = view(Int32Array, bytes, 2 * n);
      const out = new Int32Array(_internals.allocate(n * 4), 0, n);
      for (let i = 0; i < n; i++) {
        const lo = words[2 * i], hi = words[2 * i + 1];
        if (dtype === "I64" ? hi !== lo >> 31 : hi !== 0 || lo < 0) {
          const big = (BigInt(hi) << 32n) + BigInt(lo >>> 0);
          throw tooWide(name, dtype, dtype === "I64" ? big : BigInt.asUintN(64, big), i);
        }
        out[i] = lo;
      }
      return out;
    }
  }
  return dtype satisfies never;
}

function tooWide(name: string, dtype: string, value: number | bigint, i: number): SafetensorsError {
  return fail(name, `${dtype} value ${value} at index ${i} does not fit in int32`);
}

/**
 * Converts one entry's raw little-endian bytes to a tensor.
 *
 * F32 → float32; F16 and BF16 → float32 (F16 → float16 with `keepFloat16`); F64 → float64 on the
 * CPU backend, float32 elsewhere; I64, U64 and U32 → int32 after a range check; I32, I16, U16, I8
 * and U8 → int32; BOOL → bool. The bytes may sit at any alignment.
 *
 * @param name The tensor name (for messages).
 * @param entry Its header entry.
 * @param bytes Exactly the entry's bytes.
 * @param options Backend and float16 handling.
 * @returns The tensor.
 * @throws {SafetensorsError} When the byte count is wrong or an integer does not fit in int32.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { decodeTensor } from "./safetensors.ts";
 *
 * const bf16 = new Uint8Array([0x80, 0x3f, 0x40, 0xc0]); // 1 and -3
 * const t = decodeTensor("w", { dtype: "BF16", shape: [2], dataOffsets: [0, 4] }, bf16, { backend: "cpu" });
 * assertEquals([t.dtype, await t.toArray()], ["float32", [1, -3]]);
 * ```
 */
export function decodeTensor(
  name: string,
  entry: SafetensorsEntry,
  bytes: Uint8Array,
  options: ReadOptions = {},
): Tensor {
  if (!RANK.has(entry.dtype)) throw fail(name, `unknown dtype ${show(entry.dtype)}`);
  if (!Array.isArray(entry.shape) || !entry.shape.every(isCount)) {
    throw fail(name, `shape ${show(entry.shape)} is not an array of non-negative integers`);
  }
  const need = byteSize(name, entry.dtype, entry.shape);
  if (bytes.length !== need) {
    throw fail(
      name,
      `shape [${
        entry.shape.join(", ")
      }] of dtype ${entry.dtype} needs ${need} bytes, but ${bytes.length} were given`,
    );
  }
  const backend = options.backend ?? getBackend();
  const n = need / SAFETENSORS_DTYPE_SIZES[entry.dtype];
  const values = decodeValues(name, entry.dtype, bytes, n, backend, options.keepFloat16 ?? false);
  return fromTypedArray(values, entry.shape, backend);
}

/**
 * @internal The "no such tensor" error, listing a few known names.
 *
 * @param name The missing name.
 * @param known The names that exist.
 * @param where Where we looked (a file name), if any.
 * @returns The error.
 */
export function unknownTensorError(
  name: string,
  known: readonly string[],
  where = "",
): SafetensorsError {
  const shown = known.slice(0, 5).map(quote).join(", ");
  const more = known.length > 5 ? `, and ${known.length - 5} more` : "";
  const list = known.length ? `known: ${shown}${more}` : "there are no tensors";
  return fail(name, `no such tensor${where ? ` in ${where}` : ""} (${list})`);
}

/** @internal Picks `names` (or all) from a header, rejecting unknown names. */
export function selectNames(
  header: SafetensorsHeader,
  names?: readonly string[],
  where = "",
): string[] {
  if (!names) return [...header.entries.keys()];
  for (const name of names) {
    if (!header.entries.has(name)) {
      throw unknownTensorError(name, [...header.entries.keys()], where);
    }
  }
  return [...new Set(names)];
}

/**
 * Parses a whole in-memory file into tensors.
 *
 * @param file The file's bytes.
 * @param options Backend, float16 handling, and `names` to read only some tensors.
 * @returns The tensors by name, and the metadata.
 * @throws {SafetensorsError} When the file is malformed or a name is unknown.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "../creation.ts";
 * import { parseSafetensors, serializeSafetensors } from "./safetensors.ts";
 *
 * const file = await serializeSafetensors({ w: tensor([1.5, -2], { backend: "cpu" }) }, { format: "pt" });
 * const { tensors, metadata } = parseSafetensors(file, { backend: "cpu" });
 * assertEquals([await tensors.w.toArray(), metadata], [[1.5, -2], { format: "pt" }]);
 * ```
 */
export function parseSafetensors(
  file: Uint8Array,
  options: ReadOptions & { names?: readonly string[] } = {},
): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const header = parseSafetensorsHeader(file, file.length);
  const names = selectNames(header, options.names);
  const tensors: Record<string, Tensor> = {};
  const made: Tensor[] = [];
  try {
    for (const name of names) {
      const entry = header.entries.get(name)!;
      const [begin, end] = entry.dataOffsets;
      const bytes = file.subarray(header.dataStart + begin, header.dataStart + end);
      const t = decodeTensor(name, entry, bytes, options);
      made.push(t);
      define(tensors, name, t);
    }
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(header.metadata)) define(metadata, k, v);
  return { tensors, metadata };
}
