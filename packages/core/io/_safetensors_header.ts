/**
 * Parsing and validating a safetensors header before anything it sizes is allocated.
 *
 * @module
 */

import {
  byteSize,
  define,
  describe,
  ENTRY_KEYS,
  fail,
  isCount,
  isObject,
  MAX_HEADER,
  quote,
  RANK,
  type SafetensorsDType,
  type SafetensorsEntry,
  SafetensorsError,
  type SafetensorsHeader,
  show,
} from "./_safetensors_format.ts";

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
