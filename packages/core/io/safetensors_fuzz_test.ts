// Mutation fuzzing of the safetensors parser: byte flips in the length prefix and the JSON,
// structured JSON edits, truncation and appended bytes, all derived from valid files with a seeded
// generator. Every failure must be a SafetensorsError, a rejected header must allocate nothing,
// and allocations must stay bounded by the input's size.
import { assert, assertEquals } from "@std/assert";
import { testRng } from "../_testing/backends.ts";
import {
  _internals,
  parseSafetensors,
  parseSafetensorsHeader,
  type RawTensor,
  SAFETENSORS_DTYPE_SIZES,
  SafetensorsError,
  serializeSafetensors,
} from "./safetensors.ts";

const ITERATIONS = 10_000;
const rng = testRng(20240611);
const int = (n: number) => Math.floor(rng() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
const enc = new TextEncoder();

function raw(dtype: RawTensor["dtype"], shape: number[], size: number): RawTensor {
  const n = shape.reduce((a, b) => a * b, 1) * size;
  // Small non-negative bytes: every integer width decodes within int32.
  return {
    dtype,
    shape,
    data: Uint8Array.from({ length: n }, (_, i) => (i % size === 0 ? int(100) : 0)),
  };
}

const BASES: Uint8Array[] = await Promise.all([
  serializeSafetensors({
    w: raw("F32", [2, 3], 4),
    h: raw("F16", [4], 2),
    bf: raw("BF16", [3], 2),
    ids: raw("I64", [2], 8),
    d: raw("F64", [1], 8),
    i: raw("I32", [2], 4),
    s: raw("I16", [3], 2),
    c: raw("I8", [5], 1),
    u: raw("U8", [1, 3], 1),
    b: raw("BOOL", [3], 1),
    e: raw("F32", [0, 7], 4),
    u16: raw("U16", [1], 2),
    u32: raw("U32", [2], 4),
    u64: raw("U64", [1], 8),
  }, { format: "pt", note: "fuzz" }),
  serializeSafetensors({}),
  serializeSafetensors({ x: raw("F16", [3, 1], 2) }),
  serializeSafetensors({ a: raw("U8", [7], 1), z: raw("F64", [], 8) }, {}),
]);

const NUMBERS = [
  -1,
  -0,
  0.5,
  1,
  3,
  7,
  8,
  255,
  2 ** 31,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 64,
  1e20,
  1e308,
  -1e20,
];
const JUNK = [null, true, "", "8", "F32", [], {}, [1, 2, 3], { dtype: "F32" }, ...NUMBERS];
const DTYPES = [
  "F32",
  "F16",
  "BF16",
  "F64",
  "I64",
  "U64",
  "I8",
  "BOOL",
  "f32",
  "F8_E4M3",
  "",
  "I4",
];

/** One structured edit to a parsed header. */
function editJson(h: Record<string, unknown>): void {
  const names = Object.keys(h).filter((k) => k !== "__metadata__");
  const name = names.length ? pick(names) : "t";
  const old = h[name];
  const e = (old && typeof old === "object" && !Array.isArray(old) ? old : {}) as Record<
    string,
    unknown
  >;
  h[name] = e;
  const offs = Array.isArray(e.data_offsets) ? e.data_offsets : [0, 0];
  const shape = Array.isArray(e.shape) ? e.shape : [];
  switch (int(14)) {
    case 0:
      e.data_offsets = [offs[1], offs[0]];
      break;
    case 1:
      e.data_offsets = [offs[0], pick(NUMBERS)];
      break;
    case 2:
      e.data_offsets = [pick(NUMBERS), offs[1]];
      break;
    case 3:
      e.data_offsets = offs.map((x: number) => x + pick([-8, -2, -1, 1, 2, 8]));
      break;
    case 4:
      shape[int(shape.length + 1)] = pick(NUMBERS);
      e.shape = shape;
      break;
    case 5:
      e.shape = [...shape, ...Array.from({ length: int(4) }, () => pick([2, 2 ** 26, 2 ** 40]))];
      break;
    case 6:
      e.dtype = pick(DTYPES);
      break;
    case 7:
      delete e[pick(["dtype", "shape", "data_offsets"])];
      break;
    case 8:
      e[pick(["dtype", "shape", "data_offsets", "extra"])] = pick(JUNK);
      break;
    case 9:
      h[name] = pick(JUNK);
      break;
    case 10:
      h.__metadata__ = pick([{ k: pick(JUNK) }, pick(JUNK), { a: "b" }]);
      break;
    case 11: // a second tensor sharing or straddling the first one's bytes
      h[`${name}_copy`] = { ...e, data_offsets: offs.map((x: number) => x + pick([0, 1, 4])) };
      break;
    case 12:
      delete h[name];
      break;
    default:
      Object.defineProperty(h, pick(["__proto__", "constructor", "toString", "\u{1f600}", ""]), {
        value: { ...e },
        enumerable: true,
        configurable: true,
        writable: true,
      });
  }
}

/** A mutated copy of a valid file. */
function mutate(base: Uint8Array): Uint8Array {
  if (base.length < 8) { // a truncated prefix: extend it with random bytes
    const longer = Uint8Array.from({ length: 8 + int(24) }, () => int(256));
    longer.set(base);
    return longer;
  }
  const n = new DataView(base.buffer, base.byteOffset).getUint32(0, true);
  let out = base.slice();
  switch (int(8)) {
    case 0: // bit flips in the length prefix
      for (let k = 1 + int(3); k > 0; k--) out[int(8)] ^= 1 << int(8);
      break;
    case 1: { // a random length prefix, small or huge
      const v = new DataView(out.buffer);
      v.setUint32(0, pick([int(n * 2 + 16), 100_000_001, 0xffffffff, n - 1, n + 1]), true);
      if (rng() < 0.3) v.setUint32(4, int(2 ** 32), true);
      break;
    }
    case 2: // byte flips in the JSON
      for (let k = 1 + int(4); k > 0; k--) {
        out[8 + int(n)] = rng() < 0.5 ? int(256) : out[8 + int(n)] ^ (1 << int(8));
      }
      break;
    case 3:
    case 4: { // structured JSON edits, re-encoded with a (usually) right length
      let h: Record<string, unknown>;
      try {
        h = JSON.parse(new TextDecoder().decode(base.subarray(8, 8 + n)));
        if (!h || typeof h !== "object" || Array.isArray(h)) throw new Error();
      } catch {
        h = { t: { dtype: "U8", shape: [1], data_offsets: [0, 1] } };
      }
      for (let k = 1 + int(3); k > 0; k--) editJson(h);
      const json = enc.encode(JSON.stringify(h));
      const data = base.subarray(8 + n);
      out = new Uint8Array(8 + json.length + data.length);
      new DataView(out.buffer).setUint32(0, rng() < 0.9 ? json.length : int(json.length + 9), true);
      out.set(json, 8);
      out.set(data, 8 + json.length);
      break;
    }
    case 5: // truncation at a random point
      out = out.slice(0, int(out.length));
      break;
    case 6: { // appended bytes
      const more = new Uint8Array(out.length + 1 + int(16)).fill(int(256));
      more.set(out);
      out = more;
      break;
    }
    default: // flips in the data buffer (I64/U32 values may leave int32)
      if (out.length > 8 + n) {
        for (let k = 1 + int(4); k > 0; k--) out[8 + n + int(out.length - 8 - n)] = int(256);
      }
  }
  return rng() < 0.1 ? mutate(out) : out;
}

function expectSafetensorsError(e: unknown, input: Uint8Array): void {
  if (e instanceof SafetensorsError) return;
  throw new Error(`non-SafetensorsError for input ${Array.from(input.subarray(0, 64))}: ${e}`, {
    cause: e,
  });
}

Deno.test("fuzz: mutated and truncated files fail only with SafetensorsError, bounded", () => {
  const original = _internals.allocate;
  let allocations: number[] = [];
  _internals.allocate = (bytes) => {
    allocations.push(bytes);
    return original(bytes);
  };
  const start = performance.now();
  const outcomes = { ok: 0, header: 0, decode: 0 };
  try {
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(pick(BASES));
      let headerOk = true;
      try {
        // What an accepted header promises: entries in offset order tile the data buffer exactly,
        // each holding product(shape) × size(dtype) bytes.
        const h = parseSafetensorsHeader(input, input.length);
        let pos = 0;
        for (const { dtype, shape, dataOffsets: [b, e] } of h.entries.values()) {
          assertEquals(b, pos);
          assertEquals(e - b, shape.reduce((x, y) => x * y, SAFETENSORS_DTYPE_SIZES[dtype]));
          pos = e;
        }
        assertEquals(h.dataStart + pos, input.length);
      } catch (e) {
        expectSafetensorsError(e, input);
        headerOk = false;
      }
      // A header-only prefix of random length must also fail cleanly or parse.
      try {
        parseSafetensorsHeader(input.subarray(0, int(input.length + 1)), input.length);
      } catch (e) {
        expectSafetensorsError(e, input);
      }
      allocations = [];
      try {
        const { tensors } = parseSafetensors(input, { backend: "cpu" });
        assert(headerOk, "parseSafetensors accepted a header parseSafetensorsHeader rejected");
        for (const t of Object.values(tensors)) {
          assert(
            t.size <= input.length,
            `tensor of ${t.size} elements from a ${input.length}-byte file`,
          );
          t.dispose();
        }
        outcomes.ok++;
      } catch (e) {
        expectSafetensorsError(e, input);
        if (headerOk) outcomes.decode++;
        else outcomes.header++;
      }
      if (!headerOk) assertEquals(allocations, [], "allocated for a rejected header");
      // Each allocation is a copy of one tensor's bytes (at most the file) or a widened output
      // (at most 4× its bytes: U8/I8 → int32); together at most 5× the file.
      const total = allocations.reduce((a, b) => a + b, 0);
      assert(
        allocations.every((b) => b <= 4 * input.length),
        `allocation past 4× of ${input.length}`,
      );
      assert(total <= 5 * input.length, `allocated ${total} bytes for a ${input.length}-byte file`);
    }
  } finally {
    _internals.allocate = original;
  }
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `fuzz: ${ITERATIONS} inputs in ${seconds.toFixed(2)} s, outcomes ${JSON.stringify(outcomes)}`,
  );
  assert(seconds < 20, `fuzz took ${seconds.toFixed(1)} s`);
  // The mix exercises every outcome.
  assert(
    outcomes.ok > 500 && outcomes.header > 5000 && outcomes.decode > 10,
    JSON.stringify(outcomes),
  );
});
