import { assert, assertEquals, assertThrows } from "@std/assert";
import { arange, ShapeError, tensor } from "@denoformers/core";
import { repeatKv } from "./repeat_kv.ts";
import { testBackends } from "./_test_util.ts";

testBackends("repeatKv() repeats each key/value head nRep times in a row", async () => {
  // B = 2, KVH = 2, S = 2, D = 1; element [b, h, s] holds 4·b + 2·h + s
  const x = arange(8, undefined, 1, { dtype: "float32" }).reshape([2, 2, 2, 1]);
  const out = repeatKv(x, 3);
  assertEquals(out.shape, [2, 6, 2, 1]);
  const values = await out.toArray() as number[][][][];
  for (let b = 0; b < 2; b++) {
    for (let j = 0; j < 6; j++) {
      const h = Math.floor(j / 3); // output head j comes from key/value head ⌊j / nRep⌋
      assertEquals(values[b][j], [[4 * b + 2 * h], [4 * b + 2 * h + 1]]);
    }
  }
});

testBackends("repeatKv() sends each copy's gradient back to its source head", async () => {
  const x = tensor([[[[1, 2]], [[3, 4]]]], { requiresGrad: true }); // [1, 2, 1, 2]
  const weights = tensor([[[[1, 1]], [[2, 2]], [[3, 3]], [[4, 4]]]]); // [1, 4, 1, 2]
  repeatKv(x, 2).mul(weights).sum().backward();
  assertEquals(await x.grad!.toArray(), [[[[3, 3]], [[7, 7]]]]);
});

Deno.test("repeatKv() returns its input for nRep 1 and rejects bad arguments", () => {
  const x = tensor([[[[1, 2]]]], { backend: "cpu" });
  assert(repeatKv(x, 1) === x);
  assertThrows(() => repeatKv(x, 0), RangeError, "Cannot repeat key/value heads 0 times");
  assertThrows(() => repeatKv(x, 1.5), RangeError, "expected a positive integer");
  assertThrows(
    () => repeatKv(tensor([[1, 2]], { backend: "cpu" }), 2),
    ShapeError,
    "Cannot repeat key/value heads of a tensor of shape [1, 2]: expected 4 dimensions",
  );
});
