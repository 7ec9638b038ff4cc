// gatherStrided against the offsets walk (forceOffsets) it replaces, over layouts that exercise
// each of its paths: merged contiguous runs, unit-stride rows, the tiled transpose (ragged tiles,
// batched), broadcast (stride 0), offsets, and empty shapes.
import { assertEquals } from "@std/assert";
import { contiguousStrides, sizeOf } from "../shape.ts";
import { forceOffsets, gatherStrided } from "./cpu_util.ts";

function check(shape: number[], strides: number[], offset: number): void {
  const span = offset + shape.reduce((t, d, i) => t + Math.max(0, d - 1) * strides[i], 1);
  const src = Float32Array.from({ length: span }, (_, i) => i * 0.5 - 7);
  const expected = Array.from(forceOffsets(shape, strides, offset), (o) => src[o]);
  const dst = new Float32Array(sizeOf(shape)).fill(NaN);
  gatherStrided(src, offset, shape, strides, dst);
  assertEquals(Array.from(dst), expected, `shape [${shape}] strides [${strides}] offset ${offset}`);
}

Deno.test("gatherStrided equals the element-by-element walk for every layout", () => {
  check([3, 4, 5], contiguousStrides([3, 4, 5]), 0);
  check([3, 4, 5], contiguousStrides([3, 4, 5]), 9);
  check([130, 70], [1, 130], 3); // transpose with ragged 64×64 tiles
  check([2, 65, 67], [65 * 67, 1, 65], 0); // batched transpose
  check([2, 3, 4], [1, 2 * 4, 2], 1); // a general permutation
  check([1, 6, 1, 4], [99, 4, 99, 1], 2); // size-1 dims with arbitrary strides
  check([4, 5], [0, 1], 0); // broadcast rows
  check([4, 5], [1, 0], 0); // broadcast columns
  check([5, 3], [6, 2], 1); // a strided window
  check([4, 20], [25, 1], 2); // rows of a wider matrix, copied as blocks
  check([2, 3, 17], [17, 34, 1], 0); // swapped outer dims, 17-long unit-stride runs
  check([], [], 4); // a scalar
  check([3, 0, 2], [0, 2, 1], 0); // empty
});

Deno.test("gatherStrided copies other element types unchanged", () => {
  const src = Int32Array.from({ length: 12 }, (_, i) => i - 6);
  const dst = new Int32Array(12);
  gatherStrided(src, 0, [4, 3], [1, 4], dst);
  assertEquals(Array.from(dst), [-6, -2, 2, -5, -1, 3, -4, 0, 4, -3, 1, 5]);
});
