/**
 * Writing safetensors files byte-for-byte as the reference (Rust) writer does: dtype-ordered,
 * name-sorted data and a space-padded header.
 *
 * @module
 */

import type { DType } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import {
  countOf,
  describe,
  isCount,
  isObject,
  quote,
  RANK,
  type RawTensor,
  SAFETENSORS_DTYPE_SIZES,
  type SafetensorsDType,
  SafetensorsError,
  show,
} from "./_safetensors_format.ts";

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
