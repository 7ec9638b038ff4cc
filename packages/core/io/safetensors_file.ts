/**
 * Safetensors files on disk or behind a URL: lazy reads of single tensors, whole files,
 * sharded checkpoints (`*.safetensors.index.json`), and writing.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import {
  decodeTensor,
  parseSafetensorsHeader,
  planSafetensors,
  type RawTensor,
  readHeaderLength,
  type ReadOptions,
  SafetensorsError,
  type SafetensorsHeader,
  selectNames,
  unknownTensorError,
} from "./safetensors.ts";

/** Bytes requested up front from a URL (the header usually fits; it saves a round trip). */
const URL_PREFETCH = 64 * 1024;
/** Largest run of adjacent tensors fetched in one read by `readAll`. */
const MAX_RUN = 64 * 1024 * 1024;

interface Source {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): void;
}

class FileSource implements Source {
  #file: Deno.FsFile;
  #queue: Promise<unknown> = Promise.resolve();
  readonly size: number;
  readonly label: string;
  constructor(file: Deno.FsFile, size: number, label: string) {
    this.#file = file;
    this.size = size;
    this.label = label;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    // One file position, so reads run one after another.
    const run = this.#queue.then(() => this.#readAt(offset, length));
    this.#queue = run.catch(() => {});
    return run;
  }
  async #readAt(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    if (length === 0) return out;
    await this.#file.seek(offset, Deno.SeekMode.Start);
    for (let filled = 0; filled < length;) {
      const n = await this.#file.read(out.subarray(filled));
      if (n === null) {
        throw new SafetensorsError(
          `Cannot read ${this.label}: it ended at byte ${offset + filled}, before byte ${
            offset + length
          }`,
        );
      }
      filled += n;
    }
    return out;
  }
  close(): void {
    this.#file.close();
  }
}

class MemorySource implements Source {
  #bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }
  get size(): number {
    return this.#bytes.length;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    return Promise.resolve(this.#bytes.subarray(offset, offset + length));
  }
  close(): void {}
}

/** A URL whose server answers Range requests with 206; keeps the prefetched first bytes. */
class RangeSource implements Source {
  #url: URL;
  #head: Uint8Array;
  #whole?: Uint8Array;
  readonly size: number;
  constructor(url: URL, size: number, head: Uint8Array) {
    this.#url = url;
    this.size = size;
    this.#head = head;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    const end = offset + length;
    if (end <= this.#head.length) return this.#head.subarray(offset, end);
    if (this.#whole) return this.#whole.subarray(offset, end);
    const res = await fetch(this.#url, { headers: { Range: `bytes=${offset}-${end - 1}` } });
    const body = await responseBytes(res, this.#url);
    if (res.status === 206) {
      const start = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "")?.[1];
      if (Number(start) !== offset || body.length !== length) {
        throw new SafetensorsError(
          `Cannot read ${this.#url}: asked for bytes ${offset}-${end - 1}, got ${
            res.headers.get("content-range")
          } (${body.length} bytes)`,
        );
      }
      return body;
    }
    this.#whole = body; // the server stopped honouring Range: keep the full body
    return body.subarray(offset, end);
  }
  close(): void {}
}

async function responseBytes(res: Response, url: string | URL): Promise<Uint8Array> {
  if (!res.ok) {
    await res.body?.cancel();
    throw new SafetensorsError(`Cannot read ${url}: HTTP ${res.status} ${res.statusText}`.trim());
  }
  return new Uint8Array(await res.arrayBuffer());
}

/** A URL for anything with a scheme, else the local path as given. */
function locate(x: string | URL): string | URL {
  return x instanceof URL ? x : /^[a-z][a-z0-9+.-]*:\/\//i.test(x) ? new URL(x) : x;
}
const isRemote = (x: string | URL): boolean => x instanceof URL && x.protocol !== "file:";

async function openSource(pathOrUrl: string | URL): Promise<{ source: Source; label: string }> {
  const at = locate(pathOrUrl);
  if (!isRemote(at)) {
    const label = `"${at instanceof URL ? decodeURIComponent(at.pathname) : at}"`;
    const file = await Deno.open(at, { read: true });
    try {
      const { size } = await file.stat();
      return { source: new FileSource(file, size, label), label };
    } catch (e) {
      file.close();
      throw e;
    }
  }
  const url = at as URL;
  const label = `"${url.href}"`;
  const res = await fetch(url, { headers: { Range: `bytes=0-${URL_PREFETCH - 1}` } });
  if (res.status === 206) {
    const total = /\/(\d+)$/.exec(res.headers.get("content-range") ?? "")?.[1];
    const head = await responseBytes(res, url);
    if (total !== undefined) return { source: new RangeSource(url, Number(total), head), label };
  } else if (res.status !== 416) {
    return { source: new MemorySource(await responseBytes(res, url)), label };
  } else {
    await res.body?.cancel();
  }
  // Size unknown or range refused (an empty file): one plain GET.
  return { source: new MemorySource(await responseBytes(await fetch(url), url)), label };
}

function define(target: Record<string, Tensor>, key: string, value: Tensor): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * A lazily read safetensors file.
 *
 * A local path (or `file:` URL) is opened with `Deno.open` and only the header and the requested
 * tensors' byte ranges are read. An `http(s)` URL is read with Range requests when the server
 * answers 206; otherwise the one full response is kept in memory.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "../creation.ts";
 * import { SafetensorsFile, saveSafetensors } from "./safetensors_file.ts";
 *
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await saveSafetensors(path, { a: tensor([1, 2], { backend: "cpu" }), b: tensor([3], { backend: "cpu" }) });
 * const file = await SafetensorsFile.open(path);
 * assertEquals(file.keys(), ["a", "b"]);
 * assertEquals(await (await file.read("b", { backend: "cpu" })).toArray(), [3]);
 * file.close();
 * await Deno.remove(path);
 * ```
 */
export class SafetensorsFile {
  /** The validated header. */
  readonly header: SafetensorsHeader;
  #source: Source;
  #label: string;
  #closed = false;

  private constructor(source: Source, header: SafetensorsHeader, label: string) {
    this.#source = source;
    this.header = header;
    this.#label = label;
  }

  /**
   * Opens a file and reads and validates its header (nothing else).
   *
   * @param pathOrUrl A local path, a `file:` URL or an `http(s)` URL.
   * @returns The open file.
   * @throws {SafetensorsError} When the header is malformed or the server answers an error.
   */
  static async open(pathOrUrl: string | URL): Promise<SafetensorsFile> {
    const { source, label } = await openSource(pathOrUrl);
    try {
      const first = await source.read(0, Math.min(8, source.size));
      const n = readHeaderLength(first, source.size);
      const prefix = new Uint8Array(8 + n);
      prefix.set(first);
      prefix.set(await source.read(8, n), 8);
      return new SafetensorsFile(source, parseSafetensorsHeader(prefix, source.size), label);
    } catch (e) {
      source.close();
      throw e;
    }
  }

  /**
   * The tensor names, in data-buffer order.
   *
   * @returns The names.
   */
  keys(): string[] {
    return [...this.header.entries.keys()];
  }

  #check(name: string): void {
    if (this.#closed) {
      throw new SafetensorsError(
        `Cannot read tensor "${name}": ${this.#label} has been closed`,
        name,
      );
    }
  }

  /**
   * Reads one tensor (only its bytes).
   *
   * @param name The tensor name.
   * @param options Backend and float16 handling.
   * @returns The tensor.
   * @throws {SafetensorsError} For an unknown name (the message lists a few known names).
   */
  async read(name: string, options: ReadOptions = {}): Promise<Tensor> {
    const entry = this.header.entries.get(name);
    if (!entry) throw unknownTensorError(name, this.keys(), this.#label);
    this.#check(name);
    const [begin, end] = entry.dataOffsets;
    const bytes = await this.#source.read(this.header.dataStart + begin, end - begin);
    return decodeTensor(name, entry, bytes, options);
  }

  /**
   * Reads every tensor, or those in `names`; adjacent tensors are fetched in one read.
   *
   * @param options Backend, float16 handling and `names`.
   * @returns The tensors by name.
   * @throws {SafetensorsError} For an unknown name or a malformed tensor.
   */
  async readAll(
    options: ReadOptions & { names?: readonly string[] } = {},
  ): Promise<Record<string, Tensor>> {
    const names = selectNames(this.header, options.names, this.#label);
    const { entries, dataStart } = this.header;
    const order = [...names].sort((a, b) =>
      entries.get(a)!.dataOffsets[0] - entries.get(b)!.dataOffsets[0]
    );
    const made = new Map<string, Tensor>();
    try {
      for (let i = 0; i < order.length;) {
        this.#check(order[i]);
        const start = entries.get(order[i])!.dataOffsets[0];
        let end = entries.get(order[i])!.dataOffsets[1];
        let j = i + 1;
        for (; j < order.length; j++) {
          const [b, e] = entries.get(order[j])!.dataOffsets;
          if (b !== end || e - start > MAX_RUN) break;
          end = e;
        }
        const run = await this.#source.read(dataStart + start, end - start);
        for (; i < j; i++) {
          const entry = entries.get(order[i])!;
          const [b, e] = entry.dataOffsets;
          made.set(
            order[i],
            decodeTensor(order[i], entry, run.subarray(b - start, e - start), options),
          );
        }
      }
    } catch (e) {
      for (const t of made.values()) t.dispose();
      throw e;
    }
    const out: Record<string, Tensor> = {};
    for (const name of names) define(out, name, made.get(name)!);
    return out;
  }

  /** Closes the file (idempotent); later reads throw. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#source.close();
  }

  /** Closes the file at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Joins a relative name onto the folder of a path or URL (`base` names a file in it). */
function sibling(base: string | URL, name: string): string | URL {
  if (base instanceof URL) return new URL(name, base);
  const cut = Math.max(base.lastIndexOf("/"), base.lastIndexOf("\\"));
  return cut < 0 ? name : `${base.slice(0, cut + 1)}${name}`;
}

async function exists(at: string | URL): Promise<boolean> {
  if (isRemote(at)) {
    const res = await fetch(at, { method: "HEAD" });
    await res.body?.cancel();
    return res.ok;
  }
  try {
    await Deno.stat(at);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Finds what to load: a single file, or an index of shards. */
async function resolveCheckpoint(
  target: string | URL,
): Promise<{ kind: "single" | "index"; at: string | URL }> {
  const path = target instanceof URL ? target.pathname : target;
  if (path.endsWith(".index.json")) return { kind: "index", at: target };
  if (path.endsWith(".safetensors")) return { kind: "single", at: target };
  if (!isRemote(target) && !(await Deno.stat(target)).isDirectory) {
    return { kind: "single", at: target };
  }
  const dir = target instanceof URL
    ? new URL(target.href.replace(/\/?$/, "/"))
    : target.replace(/[\\/]?$/, "/");
  const index = sibling(dir, "model.safetensors.index.json");
  if (await exists(index)) return { kind: "index", at: index };
  return { kind: "single", at: sibling(dir, "model.safetensors") };
}

async function readIndex(at: string | URL): Promise<Map<string, string>> {
  const where = `Cannot read checkpoint index "${at}"`;
  let json: unknown;
  try {
    json = isRemote(at)
      ? JSON.parse(new TextDecoder().decode(await responseBytes(await fetch(at), at)))
      : JSON.parse(await Deno.readTextFile(at));
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw new SafetensorsError(`${where}: it is not valid JSON (${e.message})`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw new SafetensorsError(`${where}: it has no "weight_map" object`);
  }
  const out = new Map<string, string>();
  for (const [name, shard] of Object.entries(map)) {
    if (
      typeof shard !== "string" || shard === "" || /^([\\/]|[a-z][a-z0-9+.-]*:)/i.test(shard) ||
      shard.split(/[\\/]/).includes("..")
    ) {
      throw new SafetensorsError(
        `${where}: tensor "${name}" maps to ${JSON.stringify(shard)}, not a relative file name`,
        name,
      );
    }
    out.set(name, shard);
  }
  return out;
}

/**
 * Loads every tensor (or `names`) from one file or a sharded checkpoint.
 *
 * `pathOrUrlOrDir` may be a `.safetensors` file, a `*.safetensors.index.json` (its
 * `weight_map` names the shard file of each tensor, relative to the index), or a directory
 * holding `model.safetensors.index.json`, else `model.safetensors`. Only the shards holding the
 * requested tensors are opened.
 *
 * @param pathOrUrlOrDir A path, a directory, or a URL.
 * @param options Backend, float16 handling and `names`.
 * @returns The tensors by name.
 * @throws {SafetensorsError} When a file or index is malformed or a name is unknown.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "../creation.ts";
 * import { loadSafetensors, saveSafetensors } from "./safetensors_file.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await saveSafetensors(`${dir}/model.safetensors`, { w: tensor([[1, 2]], { backend: "cpu" }) });
 * const { w } = await loadSafetensors(dir, { backend: "cpu" });
 * assertEquals(await w.toArray(), [[1, 2]]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadSafetensors(
  pathOrUrlOrDir: string | URL,
  options: ReadOptions & { names?: readonly string[] } = {},
): Promise<Record<string, Tensor>> {
  const { kind, at } = await resolveCheckpoint(locate(pathOrUrlOrDir));
  if (kind === "single") {
    const file = await SafetensorsFile.open(at);
    try {
      return await file.readAll(options);
    } finally {
      file.close();
    }
  }
  const map = await readIndex(at);
  const names = options.names ? [...new Set(options.names)] : [...map.keys()];
  const byShard = new Map<string, string[]>();
  for (const name of names) {
    const shard = map.get(name);
    if (shard === undefined) throw unknownTensorError(name, [...map.keys()], `"${at}"`);
    byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  }
  const loaded: Record<string, Tensor>[] = [];
  try {
    for (const [shard, shardNames] of byShard) {
      const file = await SafetensorsFile.open(sibling(at, shard));
      try {
        loaded.push(await file.readAll({ ...options, names: shardNames }));
      } finally {
        file.close();
      }
    }
  } catch (e) {
    for (const part of loaded) for (const t of Object.values(part)) t.dispose();
    throw e;
  }
  const out: Record<string, Tensor> = {};
  const merged = new Map(loaded.flatMap((p) => Object.entries(p)));
  for (const name of names) define(out, name, merged.get(name)!);
  return out;
}

/**
 * Writes tensors to a file, byte-identical to {@linkcode serializeSafetensors}'s output; tensors
 * are read one at a time while writing.
 *
 * @param path The file to create or overwrite.
 * @param tensors The tensors by name.
 * @param metadata Optional string metadata.
 * @throws {SafetensorsError} When a name, shape, byte count or metadata value is invalid.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseSafetensors } from "./safetensors.ts";
 * import { saveSafetensors } from "./safetensors_file.ts";
 *
 * const path = await Deno.makeTempFile();
 * await saveSafetensors(path, { b: { dtype: "BOOL", shape: [2], data: new Uint8Array([1, 0]) } });
 * const { tensors } = parseSafetensors(await Deno.readFile(path), { backend: "cpu" });
 * assertEquals(await tensors.b.toArray(), [true, false]);
 * await Deno.remove(path);
 * ```
 */
export async function saveSafetensors(
  path: string | URL,
  tensors: Record<string, Tensor | RawTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  const plan = planSafetensors(tensors, metadata);
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for await (const chunk of plan.chunks()) {
    for (let done = 0; done < chunk.length;) done += await file.write(chunk.subarray(done));
  }
}
