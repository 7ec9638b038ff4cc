// cat and indexSelect copy whole contiguous runs when the runs are long enough (16+ elements);
// these shapes take that path, and the expected values are computed element by element here.
import { assertEquals, assertThrows } from "@std/assert";
import { cat, tensor } from "../mod.ts";
import type { Tensor } from "../tensor.ts";

const cpu = (shape: number[], f: (i: number) => number = (i) => i * 0.5 - 3) =>
  tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)), {
    shape,
    backend: "cpu",
  });

/** Element `idx` of a tensor, read through its nested array form. */
function at(t: unknown[], idx: number[]): number {
  return idx.reduce((v: unknown, i) => (v as unknown[])[i], t) as number;
}

function* indices(shape: number[]): Generator<number[]> {
  const n = shape.reduce((a, b) => a * b, 1);
  for (let e = 0; e < n; e++) {
    const idx: number[] = [];
    for (let d = shape.length - 1, r = e; d >= 0; d--) {
      idx[d] = r % shape[d], r = Math.floor(r / shape[d]);
    }
    yield idx;
  }
}

async function expectCat(parts: Tensor[], dim: number): Promise<void> {
  const got = await cat(parts, dim).toArray() as unknown[];
  const arrays = await Promise.all(parts.map((p) => p.toArray() as Promise<unknown[]>));
  const shape = [...parts[0].shape];
  shape[dim] = parts.reduce((s, p) => s + p.shape[dim], 0);
  for (const idx of indices(shape)) {
    let k = 0, i = idx[dim];
    while (i >= parts[k].shape[dim]) i -= parts[k++].shape[dim];
    const src = [...idx];
    src[dim] = i;
    assertEquals(at(got, idx), at(arrays[k], src), `cat dim ${dim} at [${idx}]`);
  }
}

Deno.test("cat copies runs: every dim, strided inputs, rotate-half shapes", async () => {
  const a = cpu([2, 3, 4, 32]), b = cpu([2, 3, 4, 32], (i) => -i);
  for (const dim of [0, 1, 2, 3]) await expectCat([a, b], dim);
  await expectCat([a.transpose(1, 2), b.transpose(1, 2)], 3); // strided inputs
  await expectCat([a.narrow(3, 16, 16).neg(), a.narrow(3, 0, 16)], 3); // rotate_half
  const ints = tensor(Int32Array.from({ length: 64 }, (_, i) => i), {
    shape: [2, 32],
    backend: "cpu",
  });
  assertEquals((await cat([ints, ints], 0).toArray() as number[][])[3][31], 63);
});

Deno.test("indexSelect copies rows: embedding lookups, middle dims, strided outer dims", async () => {
  const table = cpu([10, 20]);
  const ids = tensor(new Int32Array([3, 0, 9, 3]), { dtype: "int32", backend: "cpu" });
  const rows = await table.indexSelect(0, ids).toArray() as number[][];
  const all = await table.toArray() as number[][];
  assertEquals(rows, [all[3], all[0], all[9], all[3]]);
  const x = cpu([3, 5, 16]).transpose(0, 1); // [5, 3, 16], outer dim strided
  const picked = await x.indexSelect(
    1,
    tensor(new Int32Array([2, 0]), { dtype: "int32", backend: "cpu" }),
  ).toArray() as number[][][];
  const xs = await x.toArray() as number[][][];
  assertEquals(picked, xs.map((r) => [r[2], r[0]]));
});

Deno.test("indexSelect checks every index before copying anything", () => {
  const table = cpu([10, 20]);
  const bad = tensor(new Int32Array([1, 10]), { dtype: "int32", backend: "cpu" });
  assertThrows(() => table.indexSelect(0, bad).dataSync(), RangeError, "10");
});
