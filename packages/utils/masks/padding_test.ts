import { assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import { arange, ShapeError, tensor } from "@denoformers/core";
import { testBackends } from "./_test_util.ts";
import { findPackedSequenceIndices, preparePaddingMask } from "./padding.ts";

testBackends("preparePaddingMask() right-pads with false up to kvOffset + kvLength", async () => {
  const mask = tensor([[true, false], [true, true]]);
  const padded = preparePaddingMask(mask, 2, 2);
  assertEquals([padded.shape, padded.dtype], [[2, 4], "bool"]);
  assertEquals(await padded.toArray(), [[true, false, false, false], [true, true, false, false]]);
});

Deno.test("preparePaddingMask() never slices a mask that is long enough", () => {
  const mask = tensor([[1, 1, 1, 1]], { backend: "cpu" });
  assertStrictEquals(preparePaddingMask(mask, 2, 1), mask);
  assertStrictEquals(preparePaddingMask(mask, 4), mask);
});

Deno.test("preparePaddingMask() rejects masks that are not 2-D", () => {
  assertThrows(
    () => preparePaddingMask(tensor([1, 1], { backend: "cpu" }), 2),
    ShapeError,
    "Cannot prepare a padding mask: expected a 2-D tensor [batch, length], got shape [2]",
  );
});

testBackends("findPackedSequenceIndices() recovers the §5.4 sequence ids", async () => {
  const positionIds = tensor([[0, 1, 2, 3, 0, 1, 0, 1, 2, 3], [0, 1, 2, 3, 4, 5, 0, 1, 2, 3]], {
    dtype: "int32",
  });
  const ids = findPackedSequenceIndices(positionIds)!;
  assertEquals(ids.dtype, "int32");
  assertEquals(await ids.toArray(), [[0, 0, 0, 0, 1, 1, 2, 2, 2, 2], [
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    1,
    1,
    1,
  ]]);
});

testBackends("findPackedSequenceIndices() counts every break, not only resets to 0", async () => {
  // A jump forward also starts a new sequence; long rows exercise several scan steps.
  const positionIds = tensor([[5, 6, 9, 10, 11, 0, 1, 2, 3, 7, 8, 0]], { dtype: "int32" });
  const ids = findPackedSequenceIndices(positionIds);
  assertEquals(await ids!.toArray(), [[0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4]]);
});

Deno.test("findPackedSequenceIndices() returns null for one sequence per row", () => {
  const positionIds = arange(3, 8, 1, { backend: "cpu" }).reshape([1, 5]).expand([2, 5]);
  assertEquals(findPackedSequenceIndices(positionIds), null);
  assertEquals(findPackedSequenceIndices(tensor([[4]], { dtype: "int32", backend: "cpu" })), null);
});

testBackends(
  "findPackedSequenceIndices() without a host read returns all-zero ids",
  async (backend) => {
    const ids = findPackedSequenceIndices(tensor([[2, 3, 4]], { dtype: "int32" }));
    if (backend === "cpu") {
      assertEquals(ids, null);
    } else {
      // Same meaning as null (one sequence per row), decided without reading the GPU.
      assertEquals(await ids!.toArray(), [[0, 0, 0]]);
    }
  },
);

Deno.test("findPackedSequenceIndices() rejects position ids that are not 2-D", () => {
  assertThrows(
    () => findPackedSequenceIndices(arange(0, 4, 1, { backend: "cpu" })),
    ShapeError,
    "Cannot find packed sequences: expected a 2-D tensor [batch, length], got shape [4]",
  );
});
