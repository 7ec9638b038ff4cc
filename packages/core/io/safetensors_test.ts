import { assert, assertEquals, assertThrows } from "@std/assert";
import { tensor } from "../creation.ts";
import { getAdapter } from "../backends/webgpu/webgpu.ts";
import { testBackends, testRng } from "../_testing/backends.ts";
import {
  decodeTensor,
  parseSafetensors,
  parseSafetensorsHeader,
  type RawTensor,
  SAFETENSORS_DTYPE_SIZES,
  type SafetensorsDType,
  SafetensorsError,
  serializeSafetensors,
} from "./safetensors.ts";

const f16Gpu = (await getAdapter())?.features.has("shader-f16") ?? false;
const ascii = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A file from a header string and data bytes, with the length prefix written by hand. */
function file(header: string, data: ArrayLike<number> = []): Uint8Array {
  const json = ascii(header);
  const n = json.length;
  const out = new Uint8Array(8 + n + data.length);
  out.set([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24, 0, 0, 0, 0]);
  out.set(json, 8);
  out.set(Array.from(data), 8 + n);
  return out;
}

/** Asserts that parsing `bytes` throws a SafetensorsError whose message holds every part. */
function rejects(bytes: Uint8Array, parts: string[], tensorName?: string): void {
  for (
    const parse of [
      () => parseSafetensors(bytes),
      () => parseSafetensorsHeader(bytes, bytes.length),
    ]
  ) {
    const e = assertThrows(parse, SafetensorsError) as SafetensorsError;
    for (const p of parts) assert(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    assertEquals(e.tensor, tensorName);
    assertEquals(e.name, "SafetensorsError");
  }
}

const ALL: SafetensorsDType[] = Object.keys(SAFETENSORS_DTYPE_SIZES) as SafetensorsDType[];

Deno.test("every dtype round-trips byte-exactly as a RawTensor", async () => {
  const rng = testRng(7);
  const raw: Record<string, RawTensor> = {};
  for (const dtype of ALL) {
    const shape = [2, 3];
    const data = Uint8Array.from(
      { length: 6 * SAFETENSORS_DTYPE_SIZES[dtype] },
      () => dtype === "BOOL" ? (rng() < 0.5 ? 1 : 0) : Math.floor(rng() * 256),
    );
    raw[`t_${dtype}`] = { dtype, shape, data };
  }
  raw.scalar = { dtype: "F32", shape: [], data: new Uint8Array([0, 0, 0x80, 0x3f]) };
  raw.empty = { dtype: "I64", shape: [0, 4], data: new Uint8Array(0) };
  const bytes = await serializeSafetensors(raw);
  const header = parseSafetensorsHeader(bytes, bytes.length);
  assertEquals(new Set(header.entries.keys()), new Set(Object.keys(raw)));
  for (const [name, entry] of header.entries) {
    const [b, e] = entry.dataOffsets;
    assertEquals(entry.dtype, raw[name].dtype, name);
    assertEquals(entry.shape, raw[name].shape, name);
    assertEquals(bytes.subarray(header.dataStart + b, header.dataStart + e), raw[name].data, name);
  }
  // Writing what was read gives the same file.
  const again: Record<string, RawTensor> = {};
  for (const [name, entry] of header.entries) {
    const [b, e] = entry.dataOffsets;
    again[name] = { ...entry, data: bytes.slice(header.dataStart + b, header.dataStart + e) };
  }
  assertEquals(await serializeSafetensors(again), bytes);
});

testBackends("tensors round-trip value-wise for every dtype we hold", async (backend) => {
  const values = [0, 1.5, -2.25, 65504, 2 ** -24, -0.0009765625];
  const src = {
    f32: tensor([[1.5, -2], [3.25, 1e-30]], { backend }),
    i32: tensor([0, -1, 2147483647, -2147483648], { dtype: "int32", backend }),
    b: tensor([true, false, true], { backend }),
    ...(backend === "cpu" || f16Gpu ? { f16: tensor(values, { dtype: "float16", backend }) } : {}),
    ...(backend === "cpu"
      ? { f64: tensor([Math.PI, -1e300, 5e-324], { dtype: "float64", backend }) }
      : {}),
  };
  const bytes = await serializeSafetensors(src);
  const { tensors } = parseSafetensors(bytes, { backend, keepFloat16: true });
  for (const [name, t] of Object.entries(src)) {
    const got = tensors[name];
    assertEquals([got.dtype, got.shape, got.backend], [t.dtype, t.shape, backend], name);
    assertEquals(await got.data(), await t.data(), name);
  }
  if ("f16" in src) {
    const wide = parseSafetensors(bytes, { backend, names: ["f16"] }).tensors.f16;
    assertEquals(wide.dtype, "float32");
    assertEquals(Array.from(await wide.data()), values);
  }
});

// Built by hand from the format description: F16 and BF16 bit patterns, integer widths, an
// unaligned I64 and metadata. Data buffer layout (byte offsets):
//   h   F16  [2,2]  0..8     00 3C | 00 C0 | FF 7B | 01 00
//   b   BF16 [3]    8..14    80 3F | 40 C0 | 49 40
//   i   I64  [2]   14..30    FF FF FF 7F 00 00 00 00 | 01 00 00 80 FF FF FF FF
//   s   I16  [2]   30..34    FF FF | 00 80
//   c   I8   [2]   34..36    FF 80
//   u   U8   [2]   36..38    FF 00
//   q   BOOL [3]   38..41    01 00 01
//   d   F64  []    41..49    3F F0 00 .. (LE: 00 00 00 00 00 00 F0 3F) = 1
//   f   F32  [1]   49..53    00 00 C0 3F = 1.5
const HAND = '{"__metadata__":{"format":"pt"},' +
  '"h":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},' +
  '"b":{"dtype":"BF16","shape":[3],"data_offsets":[8,14]},' +
  '"i":{"dtype":"I64","shape":[2],"data_offsets":[14,30]},' +
  '"s":{"dtype":"I16","shape":[2],"data_offsets":[30,34]},' +
  '"c":{"dtype":"I8","shape":[2],"data_offsets":[34,36]},' +
  '"u":{"dtype":"U8","shape":[2],"data_offsets":[36,38]},' +
  '"q":{"dtype":"BOOL","shape":[3],"data_offsets":[38,41]},' +
  '"d":{"dtype":"F64","shape":[],"data_offsets":[41,49]},' +
  '"f":{"dtype":"F32","shape":[1],"data_offsets":[49,53]}}';
const HAND_DATA = [
  ...[0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00],
  ...[0x80, 0x3f, 0x40, 0xc0, 0x49, 0x40],
  ...[0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0x80, 0xff, 0xff, 0xff, 0xff],
  ...[0xff, 0xff, 0x00, 0x80],
  ...[0xff, 0x80],
  ...[0xff, 0x00],
  ...[0x01, 0x00, 0x01],
  ...[0, 0, 0, 0, 0, 0, 0xf0, 0x3f],
  ...[0x00, 0x00, 0xc0, 0x3f],
];

testBackends("a file written byte by byte reads correctly", async (backend) => {
  const bytes = file(HAND, HAND_DATA);
  const { tensors: t, metadata } = parseSafetensors(bytes, { backend });
  assertEquals(metadata, { format: "pt" });
  assertEquals([t.h.dtype, t.h.shape], ["float32", [2, 2]]);
  assertEquals(await t.h.toArray(), [[1, -2], [65504, 2 ** -24]]);
  assertEquals([t.b.dtype, await t.b.toArray()], ["float32", [1, -3, 3.140625]]);
  assertEquals([t.i.dtype, await t.i.toArray()], ["int32", [2147483647, -2147483647]]);
  assertEquals([t.s.dtype, await t.s.toArray()], ["int32", [-1, -32768]]);
  assertEquals(await t.c.toArray(), [-1, -128]);
  assertEquals(await t.u.toArray(), [255, 0]);
  assertEquals([t.q.dtype, await t.q.toArray()], ["bool", [true, false, true]]);
  assertEquals([t.d.dtype, t.d.shape], [backend === "cpu" ? "float64" : "float32", []]);
  assertEquals(await t.d.item(), 1);
  assertEquals(await t.f.toArray(), [1.5]);
  if (backend === "cpu" || f16Gpu) {
    const h = parseSafetensors(bytes, { backend, keepFloat16: true, names: ["h"] }).tensors.h;
    assertEquals([h.dtype, await h.toArray()], ["float16", [[1, -2], [65504, 2 ** -24]]]);
  }
});

Deno.test("I64 values outside int32 raise an error naming the tensor", () => {
  const header = '{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}';
  const ok = file(header, [
    0,
    0,
    0,
    0x80,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0x7f,
    0,
    0,
    0,
    0,
  ]);
  assertEquals(
    parseSafetensors(ok, { backend: "cpu" }).tensors.ids.dataSync(),
    new Int32Array([-(2 ** 31), 2 ** 31 - 1]),
  );
  const big = file(header, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0]);
  const e = assertThrows(() => parseSafetensors(big), SafetensorsError, "2147483648 at index 1");
  assertEquals((e as SafetensorsError).tensor, "ids");
  assert(e.message.startsWith('Cannot read tensor "ids": I64 value'));
  const neg = file(header, [
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0xff,
    0xff,
    0xff,
    0x7f,
    0xff,
    0xff,
    0xff,
    0xff,
  ]);
  assertThrows(() => parseSafetensors(neg), SafetensorsError, "-2147483649 at index 1");
  const u64 = file(header.replace("I64", "U64"), [
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0x80,
  ]);
  assertThrows(() => parseSafetensors(u64), SafetensorsError, "U64 value 9223372036854775808");
  const u32 = file('{"u":{"dtype":"U32","shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0x80]);
  assertThrows(() => parseSafetensors(u32), SafetensorsError, "U32 value 2147483648 at index 0");
});

Deno.test("the writer pads and orders as the reference writer does", async () => {
  const one = { dtype: "F32", shape: [1, 2, 3], data: new Uint8Array(24) } as const;
  const bytes = await serializeSafetensors({ "attn.0": one });
  const json = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
  assertEquals(json.length, 64);
  assertEquals(bytes.subarray(0, 8), new Uint8Array([64, 0, 0, 0, 0, 0, 0, 0]));
  assertEquals(text(bytes.subarray(8, 72)), json);
  const odd = await serializeSafetensors({ attn0: { ...one, shape: [1, 1, 2, 3] } });
  assertEquals(odd[0], 72); // 65 bytes of JSON + 7 spaces
  assertEquals(
    text(odd.subarray(8, 80)),
    '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ',
  );
  assertEquals(
    await serializeSafetensors({}),
    new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]),
  );

  const r = (dtype: SafetensorsDType, n = 1): RawTensor => ({
    dtype,
    shape: [n],
    data: new Uint8Array(n * SAFETENSORS_DTYPE_SIZES[dtype]),
  });
  const mixed = {
    bool: r("BOOL", 3),
    u8: r("U8"),
    i8: r("I8"),
    i16: r("I16"),
    u16: r("U16", 3),
    f16: r("F16"),
    bf16: r("BF16"),
    i32: r("I32"),
    u32: r("U32"),
    a_f32: r("F32"),
    B_f32: r("F32"),
    f64: r("F64"),
    i64: r("I64"),
    u64: r("U64"),
    "\uff01": r("F32"),
    "\u{1f600}": r("F32"),
  };
  const out = await serializeSafetensors(mixed, { format: "pt" });
  const n = new DataView(out.buffer).getUint32(0, true);
  assertEquals((8 + n) % 8, 0);
  const head = text(out.subarray(8, 8 + n));
  assert(head.startsWith('{"__metadata__":{"format":"pt"},'));
  assert(/^[^ ]*\} *$/.test(head), "padding is trailing spaces");
  const order = [...head.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1]);
  // Dtype rank descending (U64 I64 F64 F32 U32 I32 BF16 F16 U16 I16 I8 U8 BOOL), then UTF-8 name
  // bytes: "B" < "a" < U+FF01 (EF BC 81) < U+1F600 (F0 9F 98 80), unlike UTF-16 order.
  assertEquals(order, [
    "u64",
    "i64",
    "f64",
    "B_f32",
    "a_f32",
    "\uff01",
    "\u{1f600}",
    "u32",
    "i32",
    "bf16",
    "f16",
    "u16",
    "i16",
    "i8",
    "u8",
    "bool",
  ]);
  const header = parseSafetensorsHeader(out, out.length);
  assertEquals([...header.entries.keys()], order);
  let pos = 0;
  for (const entry of header.entries.values()) {
    assertEquals(entry.dataOffsets[0], pos);
    pos = entry.dataOffsets[1];
  }
  assertEquals(header.dataStart + pos, out.length);
});

Deno.test("metadata round-trips, odd keys included", async () => {
  const metadata = { format: "pt", "": "empty", "__proto__": "x", "ключ": 'значение \u2028"\\' };
  const bytes = await serializeSafetensors({ a: tensor([1], { backend: "cpu" }) }, metadata);
  const got = parseSafetensors(bytes, { backend: "cpu" });
  assertEquals(Object.keys(got.metadata), Object.keys(metadata));
  assertEquals(Object.getPrototypeOf(got.metadata), Object.prototype);
  for (const [k, v] of Object.entries(metadata)) assertEquals(got.metadata[k], v);
  assertEquals(parseSafetensorsHeader(bytes, bytes.length).metadata.format, "pt");
  // A tensor named "__proto__" is an own property too.
  const proto = await serializeSafetensors(
    { ["__proto__"]: tensor([2], { backend: "cpu" }) } as never,
  );
  const t = parseSafetensors(proto, { backend: "cpu" }).tensors;
  assertEquals(Object.keys(t), ["__proto__"]);
  assertEquals(Object.getPrototypeOf(t), Object.prototype);
  assertEquals(parseSafetensors(file('{"__metadata__":null}')).metadata, {});
});

Deno.test("validation: length prefix and header text", () => {
  rejects(new Uint8Array(5), ["the file is 5 bytes long, shorter than the 8-byte length prefix"]);
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setUint32(0, 100_000_001, true);
  rejects(huge, ["header length 100000001 exceeds the 100000000-byte limit"]);
  huge.set([0, 0, 0, 0, 0, 0, 0, 0x80]);
  rejects(huge, ["header length 9223372036854775808 exceeds"]);
  const past = file("{}");
  past[0] = 200;
  rejects(past, ["header of 200 bytes runs past the end of the 10-byte file"]);
  const bad = file("{}  ");
  bad.set([0xff, 0xfe], 10);
  rejects(bad, ["not valid UTF-8"]);
  rejects(file('{"a":'), ["not valid JSON"]);
  rejects(file("[]"), ["it is an array, not an object"]);
  rejects(file("3"), ["it is a number, not an object"]);
  rejects(file("null"), ["it is null, not an object"]);
  rejects(file("\ufeff{}"), ["not valid JSON"]);
  const short = file("{}");
  assertThrows(
    () => parseSafetensorsHeader(short.subarray(0, 9), 10),
    SafetensorsError,
    "only 1 of its 2 bytes",
  );
});

Deno.test("validation: entries", () => {
  const e = (entry: string, data: number[] = []) => file(`{"w":${entry}}`, data);
  rejects(e("3"), ['Cannot read tensor "w": its entry is a number, not an object'], "w");
  rejects(e("[]"), ["its entry is an array"], "w");
  rejects(e('{"dtype":"F32","shape":[],"data_offsets":[0,4],"x":1}', [0, 0, 0, 0]), [
    'unexpected key "x"',
  ], "w");
  rejects(
    e('{"dtype":"F32","data_offsets":[0,4]}', [0, 0, 0, 0]),
    ['its entry lacks "shape"'],
    "w",
  );
  rejects(e('{"dtype":"F128","shape":[],"data_offsets":[0,4]}', [0, 0, 0, 0]), [
    'unknown dtype "F128"',
  ], "w");
  rejects(e('{"dtype":7,"shape":[],"data_offsets":[0,4]}', [0, 0, 0, 0]), ["unknown dtype 7"], "w");
  for (const shape of ["[2,-1]", "[1.5]", '["2"]', "2", "null", "[1e300]"]) {
    rejects(
      e(`{"dtype":"U8","shape":${shape},"data_offsets":[0,2]}`, [0, 0]),
      [`shape ${JSON.stringify(JSON.parse(shape))} is not an array of non-negative integers`],
      "w",
    );
  }
  for (const offsets of ["[0]", '[0,"2"]', "[-1,2]", "[0,2,4]", "{}", "[0,9007199254740993]"]) {
    rejects(
      e(`{"dtype":"U8","shape":[2],"data_offsets":${offsets}}`, [0, 0]),
      ["are not two non-negative integers"],
      "w",
    );
  }
  rejects(
    e('{"dtype":"U8","shape":[4],"data_offsets":[8,4]}', new Array(8).fill(0)),
    ['Cannot read tensor "w": data_offsets [8, 4] are out of order'],
    "w",
  );
  rejects(
    e('{"dtype":"U8","shape":[4],"data_offsets":[4,8]}', [0, 0, 0, 0]),
    ["data_offsets [4, 8] end past the 4-byte data buffer"],
    "w",
  );
  rejects(
    e('{"dtype":"F32","shape":[2],"data_offsets":[0,4]}', [0, 0, 0, 0]),
    ["shape [2] of dtype F32 needs 8 bytes, but data_offsets [0, 4] hold 4"],
    "w",
  );
  rejects(
    e('{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,4]}', [0, 0, 0, 0]),
    ["needs more than 2^53 bytes"],
    "w",
  );
});

Deno.test("validation: offsets must tile the data buffer exactly", () => {
  const two = (a: string, b: string, n: number) =>
    file(
      `{"a":{"dtype":"F32","shape":[2],"data_offsets":${a}},"b":{"dtype":"F32","shape":[2],"data_offsets":${b}}}`,
      new Array(n).fill(0),
    );
  rejects(two("[0,8]", "[4,12]", 12), [
    'Cannot read tensor "b": data_offsets [4, 12] overlap tensor "a" at [0, 8]',
  ], "b");
  rejects(two("[0,8]", "[0,8]", 8), ["data_offsets [0, 8] overlap tensor"], "b");
  rejects(two("[0,8]", "[12,20]", 20), [
    'data_offsets [12, 20] leave a gap of 4 bytes after tensor "a" at [0, 8]',
  ], "b");
  rejects(two("[4,12]", "[12,20]", 20), [
    'Cannot read tensor "a": data_offsets [4, 12] leave a gap of 4 bytes at the start',
  ], "a");
  rejects(two("[0,8]", "[8,16]", 20), ["4 bytes after the last tensor belong to no tensor"]);
  rejects(file("{}", [1]), ["1 bytes after the last tensor"]);
  // Out-of-order JSON and zero-sized tensors anywhere are fine, as in the reference.
  const ok = file(
    '{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"z":{"dtype":"F32","shape":[0],"data_offsets":[1,1]},' +
      '"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
    [5, 6],
  );
  assertEquals([...parseSafetensorsHeader(ok, ok.length).entries.keys()], ["a", "z", "b"]);
});

Deno.test("validation: metadata must be an object of strings", () => {
  rejects(file('{"__metadata__":{"k":1}}'), [
    'Cannot read safetensors metadata: value of "k" is a number, not a string',
  ]);
  rejects(file('{"__metadata__":[]}'), ["__metadata__ is an array, not an object"]);
  rejects(file('{"__metadata__":"x"}'), ["__metadata__ is a string, not an object"]);
});

Deno.test("names, decodeTensor and writer input are checked", async () => {
  const bytes = file(HAND, HAND_DATA);
  const e = assertThrows(() => parseSafetensors(bytes, { names: ["h", "nope"] }), SafetensorsError);
  assertEquals((e as SafetensorsError).tensor, "nope");
  assert(
    e.message.startsWith(
      'Cannot read tensor "nope": no such tensor (known: "h", "b", "i", "s", "c", and 4 more)',
    ),
    e.message,
  );
  assertEquals(Object.keys(parseSafetensors(bytes, { names: ["b", "h", "b"] }).tensors), [
    "b",
    "h",
  ]);
  assertThrows(
    () => decodeTensor("x", { dtype: "F32", shape: [2], dataOffsets: [0, 8] }, new Uint8Array(4)),
    SafetensorsError,
    'Cannot read tensor "x": shape [2] of dtype F32 needs 8 bytes, but 4 were given',
  );
  const w = (t: Record<string, unknown>, m?: Record<string, unknown>) =>
    serializeSafetensors(t as Record<string, RawTensor>, m as Record<string, string>);
  const raw = { dtype: "F32", shape: [2], data: new Uint8Array(7) };
  let err = await w({ r: raw }).catch((x) => x);
  assert(err instanceof SafetensorsError && err.tensor === "r");
  assertEquals(
    err.message,
    'Cannot write tensor "r": shape [2] of dtype F32 needs 8 bytes, but data holds 7',
  );
  err = await w({ __metadata__: { ...raw, data: new Uint8Array(8) } }).catch((x) => x);
  assert(err instanceof SafetensorsError && err.message.includes("reserved for the metadata"));
  err = await w({ r: { ...raw, dtype: "X" } }).catch((x) => x);
  assert(err instanceof SafetensorsError && err.message.includes('unknown dtype "X"'));
  err = await w({ r: 3 }).catch((x) => x);
  assert(
    err instanceof SafetensorsError && err.message.includes("neither a Tensor nor a RawTensor"),
  );
  err = await w({}, { k: 1 }).catch((x) => x);
  assert(err instanceof SafetensorsError && err.message.includes('value of "k" is a number'));
  const gone = tensor([1], { backend: "cpu" });
  gone.dispose();
  err = await w({ gone }).catch((x) => x);
  assert(err instanceof SafetensorsError && err.message.includes("disposed"));
});
