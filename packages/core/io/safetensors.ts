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
import type { DType, TypedArray } from "../dtype.ts";
import { fromTypedArray, type Tensor } from "../tensor.ts";

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
const RANK: ReadonlyMap<string, number> = new Map(
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

const MAX_HEADER = 100_000_000;
const ENTRY_KEYS = ["dtype", "shape", "data_offsets"];

const quote = (s: string): string => JSON.stringify(s);
function show(v: unknown): string {
  const s = String(JSON.stringify(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const fail = (name: string, what: string) =>
  new SafetensorsError(`Cannot read tensor ${quote(name)}: ${what}`, name);

/** Sets `key` as an own property even when it is `"__proto__"`. */
function define<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** Element count, or Infinity when it is not a safe integer. */
function countOf(shape: readonly number[]): number {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) if ((n *= d) > Number.MAX_SAFE_INTEGER) return Infinity;
  return n;
}

function byteSize(name: string, dtype: SafetensorsDType, shape: readonly number[]): number {
  const need = countOf(shape) * SAFETENSORS_DTYPE_SIZES[dtype];
  if (!Number.isSafeInteger(need)) {
    throw fail(name, `shape [${shape.join(", ")}] of dtype ${dtype} needs more than 2^53 bytes`);
  }
  return need;
}

/**
 * @internal Checks the 8-byte length prefix against the file size.
 *
 * @param prefix At least the first 8 bytes of the file.
 * @param fileSize The file size in bytes.
 * @returns The header length `N`.
 */
export function readHeaderLength(prefix: Uint8Array, fileSize: number): number {
  const at = "Cannot read safetensors header";
  if (!isCount(fileSize)) throw new SafetensorsError(`${at}: file size ${fileSize} is invalid`);
  if (fileSize < 8) {
    throw new SafetensorsError(
      `${at}: the file is ${fileSize} bytes long, shorter than the 8-byte length prefix`,
    );
  }
  if (prefix.length < 8) {
    throw new SafetensorsError(`${at}: only ${prefix.length} of the 8 prefix bytes were given`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const n = view.getUint32(0, true);
  if (view.getUint32(4, true) !== 0 || n > MAX_HEADER) {
    throw new SafetensorsError(
      `${at}: header length ${view.getBigUint64(0, true)} exceeds the ${MAX_HEADER}-byte limit`,
    );
  }
  if (8 + n > fileSize) {
    throw new SafetensorsError(
      `${at}: header of ${n} bytes runs past the end of the ${fileSize}-byte file`,
    );
  }
  return n;
}

function parseMetadata(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === null) return out; // the reference reads `null` as "no metadata"
  const at = "Cannot read safetensors metadata";
  if (!isObject(value)) {
    throw new SafetensorsError(`${at}: __metadata__ is ${describe(value)}, not an object`);
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw new SafetensorsError(`${at}: value of ${quote(k)} is ${describe(v)}, not a string`);
    }
    define(out, k, v);
  }
  return out;
}

function parseEntry(name: string, value: unknown, dataLength: number): SafetensorsEntry {
  if (!isObject(value)) throw fail(name, `its entry is ${describe(value)}, not an object`);
  for (const k of Object.keys(value)) {
    if (!ENTRY_KEYS.includes(k)) throw fail(name, `its entry has unexpected key ${quote(k)}`);
  }
  for (const k of ENTRY_KEYS) {
    if (!Object.hasOwn(value, k)) throw fail(name, `its entry lacks "${k}"`);
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== "string" || !RANK.has(dtype)) {
    throw fail(
      name,
      `unknown dtype ${show(dtype)} (expected one of ${[...RANK.keys()].join(", ")})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw fail(name, `shape ${show(shape)} is not an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw fail(name, `data_offsets ${show(offsets)} are not two non-negative integers`);
  }
  const [begin, end] = offsets.map((x) => x + 0); // + 0 turns -0 into 0
  if (begin > end) throw fail(name, `data_offsets [${begin}, ${end}] are out of order`);
  if (end > dataLength) {
    throw fail(name, `data_offsets [${begin}, ${end}] end past the ${dataLength}-byte data buffer`);
  }
  const dims = shape.map((x) => x + 0);
  const need = byteSize(name, dtype as SafetensorsDType, dims);
  if (need !== end - begin) {
    throw fail(
      name,
      `shape [${
        dims.join(", ")
      }] of dtype ${dtype} needs ${need} bytes, but data_offsets [${begin}, ${end}] hold ${
        end - begin
      }`,
    );
  }
  return Object.freeze({
    dtype: dtype as SafetensorsDType,
    shape: Object.freeze(dims),
    dataOffsets: Object.freeze([begin, end] as [number, number]),
  });
}

/**
 * Validates and parses the header from the first bytes of a file.
 *
 * Like the reference parser, it requires the tensors, sorted by offsets, to tile the data buffer
 * exactly from byte 0 to its end (no gaps, no overlaps, no trailing bytes).
 *
 * @param prefix The file's first `8 + N` bytes (or more).
 * @param fileSize The whole file's size in bytes.
 * @returns The header, entries in data-buffer order.
 * @throws {SafetensorsError} When anything about the header is malformed.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseSafetensorsHeader, serializeSafetensors } from "./safetensors.ts";
 *
 * const file = await serializeSafetensors({ w: { dtype: "U8", shape: [2], data: new Uint8Array([1, 2]) } });
 * const header = parseSafetensorsHeader(file, file.length);
 * assertEquals(header.entries.get("w")?.dataOffsets, [0, 2]);
 * assertEquals(header.dataStart + 2, file.length);
 * ```
 */
export function parseSafetensorsHeader(prefix: Uint8Array, fileSize: number): SafetensorsHeader {
  const at = "Cannot read safetensors header";
  const n = readHeaderLength(prefix, fileSize);
  const dataStart = 8 + n;
  if (prefix.length < dataStart) {
    throw new SafetensorsError(`${at}: only ${prefix.length - 8} of its ${n} bytes were given`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      prefix.subarray(8, dataStart),
    );
  } catch {
    throw new SafetensorsError(`${at}: it is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${at}: it is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(json)) throw new SafetensorsError(`${at}: it is ${describe(json)}, not an object`);
  const dataLength = fileSize - dataStart;
  let metadata: Record<string, string> = {};
  const list: [string, SafetensorsEntry][] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === "__metadata__") metadata = parseMetadata(value);
    else list.push([name, parseEntry(name, value, dataLength)]);
  }
  list.sort(([, a], [, b]) =>
    a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]
  );
  let pos = 0;
  for (let i = 0; i < list.length; i++) {
    const [name, { dataOffsets: [begin, end] }] = list[i];
    const here = `data_offsets [${begin}, ${end}]`;
    if (begin !== pos) {
      const [prev, { dataOffsets: [pb, pe] }] = i > 0 ? list[i - 1] : ["", { dataOffsets: [0, 0] }];
      const after = i > 0 ? `after tensor ${quote(prev)} at [${pb}, ${pe}]` : "at the start";
      throw fail(
        name,
        begin < pos
          ? `${here} overlap tensor ${quote(prev)} at [${pb}, ${pe}]`
          : `${here} leave a gap of ${begin - pos} bytes ${after}`,
      );
    }
    pos = end;
  }
  if (pos !== dataLength) {
    throw new SafetensorsError(
      `Cannot read safetensors file: ${
        dataLength - pos
      } bytes after the last tensor belong to no tensor`,
    );
  }
  return { entries: new Map(list), metadata: Object.freeze(metadata), dataStart };
}

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

const TENSOR_DTYPES: Readonly<Record<DType, SafetensorsDType>> = {
  float32: "F32",
  float16: "F16",
  float64: "F64",
  int32: "I32",
  bool: "BOOL",
};

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

interface Part {
  name: string;
  key: Uint8Array;
  dtype: SafetensorsDType;
  shape: readonly number[];
  bytes: number;
  source: Tensor | Uint8Array;
}

function planPart(name: string, value: unknown): Part {
  const bad = (what: string) =>
    new SafetensorsError(`Cannot write tensor ${quote(name)}: ${what}`, name);
  if (name === "__metadata__") throw bad("the name is reserved for the metadata");
  let part: Omit<Part, "bytes">;
  const key = new TextEncoder().encode(name);
  if (isObject(value) && typeof value.data === "function") {
    const t = value as unknown as Tensor;
    if (t.isDisposed) throw bad("it has been disposed");
    part = { name, key, dtype: TENSOR_DTYPES[t.dtype], shape: t.shape, source: t };
  } else if (isObject(value) && value.data instanceof Uint8Array) {
    const { dtype, shape, data } = value as unknown as RawTensor;
    if (!RANK.has(dtype)) throw bad(`unknown dtype ${show(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw bad(`shape ${show(shape)} is not an array of non-negative integers`);
    }
    part = { name, key, dtype, shape: [...shape], source: data };
  } else {
    throw bad(`it is ${describe(value)}, neither a Tensor nor a RawTensor`);
  }
  const bytes = countOf(part.shape) * SAFETENSORS_DTYPE_SIZES[part.dtype];
  const holds = part.source instanceof Uint8Array ? part.source.length : bytes;
  if (holds !== bytes) {
    throw bad(
      `shape [${
        part.shape.join(", ")
      }] of dtype ${part.dtype} needs ${bytes} bytes, but data holds ${holds}`,
    );
  }
  return { ...part, bytes };
}

/**
 * @internal Lays out a file as the reference writer does: tensors sorted by dtype (the reference
 * enum order, descending) then by name (UTF-8 bytes), no gaps; `__metadata__` first in the JSON;
 * the JSON padded with spaces so that the data buffer starts at a multiple of 8.
 *
 * @param tensors The tensors.
 * @param metadata Optional string metadata.
 * @returns The file size and a generator of its bytes, in order (tensor data is read lazily).
 */
export function planSafetensors(
  tensors: Record<string, Tensor | RawTensor>,
  metadata?: Record<string, string>,
): { size: number; chunks(): AsyncGenerator<Uint8Array> } {
  const parts = Object.entries(tensors).map(([name, value]) => planPart(name, value));
  const items: string[] = [];
  if (metadata !== undefined) {
    const at = "Cannot write safetensors metadata";
    if (!isObject(metadata)) throw new SafetensorsError(`${at}: it is ${describe(metadata)}`);
    const pairs = Object.entries(metadata).map(([k, v]) => {
      if (typeof v !== "string") {
        throw new SafetensorsError(`${at}: value of ${quote(k)} is ${describe(v)}, not a string`);
      }
      return `${quote(k)}:${quote(v)}`;
    });
    items.push(`"__metadata__":{${pairs.join(",")}}`);
  }
  parts.sort((a, b) => RANK.get(b.dtype)! - RANK.get(a.dtype)! || compareBytes(a.key, b.key));
  let offset = 0;
  for (const p of parts) {
    const range = `[${offset},${offset += p.bytes}]`;
    items.push(
      `${quote(p.name)}:{"dtype":"${p.dtype}","shape":[${
        p.shape.join(",")
      }],"data_offsets":${range}}`,
    );
  }
  const json = new TextEncoder().encode(`{${items.join(",")}}`);
  const head = new Uint8Array(8 + Math.ceil(json.length / 8) * 8).fill(0x20);
  new DataView(head.buffer).setBigUint64(0, BigInt(head.length - 8), true);
  head.set(json, 8);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    yield head;
    for (const p of parts) {
      if (p.source instanceof Uint8Array) {
        yield p.source;
        continue;
      }
      const data = await p.source.data();
      yield new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
  }
  return { size: head.length + offset, chunks };
}

/**
 * Serializes tensors as the reference writer does.
 *
 * Tensors are read with `await t.data()` and stored as float32 → F32, float16 → F16, float64 →
 * F64, int32 → I32, bool → BOOL; a {@linkcode RawTensor} is written as given.
 *
 * @param tensors The tensors by name.
 * @param metadata Optional string metadata (`__metadata__`).
 * @returns The file's bytes.
 * @throws {SafetensorsError} When a name, shape, byte count or metadata value is invalid.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "../creation.ts";
 * import { serializeSafetensors } from "./safetensors.ts";
 *
 * const file = await serializeSafetensors({ x: tensor([1, 2], { dtype: "int32", backend: "cpu" }) });
 * assertEquals(file.length, 8 + 56 + 8);
 * assertEquals((8 + 56) % 8, 0);
 * ```
 */
export async function serializeSafetensors(
  tensors: Record<string, Tensor | RawTensor>,
  metadata?: Record<string, string>,
): Promise<Uint8Array> {
  const plan = planSafetensors(tensors, metadata);
  const out = new Uint8Array(plan.size);
  let pos = 0;
  for await (const chunk of plan.chunks()) {
    out.set(chunk, pos);
    pos += chunk.length;
  }
  return out;
}
