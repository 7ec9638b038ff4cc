import { assertEquals, assertThrows } from "@std/assert";
import { ShapeError, tensor, zeros } from "@denoformers/core";
import { evaluate, maskRows, testBackends } from "./_test_util.ts";
import {
  chunkedCausalMaskFunction,
  chunkedOverlay,
  packedSequenceMaskFunction,
  paddingMaskFunction,
} from "./lookup_mask_functions.ts";

testBackends("chunkedCausalMaskFunction() gives the §5.9 chunk-3 rows", async () => {
  const fn = chunkedCausalMaskFunction(3, zeros([1], { dtype: "int32" }));
  assertEquals(await maskRows(evaluate(fn, [1, 5, 5])), [[
    "10000",
    "11000",
    "11100",
    "00010",
    "00011",
  ]]);
});

testBackends("chunkedOverlay() floors negative positions per row's left padding", async () => {
  // Row 0 has no padding: chunks {0,1} {2,3} {4}. Row 1 has 3 padding tokens: positions 0..2
  // sit at -3..-1, so floor division puts 0 alone in chunk -2 and {1, 2} in chunk -1.
  const fn = chunkedOverlay(2, tensor([0, 3], { dtype: "int32" }));
  assertEquals(await maskRows(evaluate(fn, [2, 5, 5])), [
    ["11000", "11000", "00110", "00110", "00001"],
    ["10000", "01100", "01100", "00011", "00011"],
  ]);
});

testBackends("paddingMaskFunction() looks up the 2-D mask by absolute kv position", async () => {
  const fn = paddingMaskFunction(tensor([[1, 1, 0, 1], [0, 1, 1, 1]]));
  assertEquals(await maskRows(evaluate(fn, [2, 1, 3], [0, 1])), [["101"], ["111"]]);
});

testBackends("packedSequenceMaskFunction() keeps queries within their sequence", async () => {
  const fn = packedSequenceMaskFunction(tensor([[0, 0, 1, 1], [0, 1, 1, 2]], { dtype: "int32" }));
  assertEquals(await maskRows(evaluate(fn, [2, 4, 4])), [
    ["1100", "1100", "0011", "0011"],
    ["1000", "0110", "0110", "0001"],
  ]);
});

Deno.test("paddingMaskFunction() raises for positions past the mask instead of wrapping", () => {
  const fn = paddingMaskFunction(tensor([[1, 1], [0, 0]], { backend: "cpu" }));
  assertThrows(() => evaluate(fn, [2, 1, 3]), RangeError, "out of range");
});

Deno.test("lookup mask functions reject tensors of the wrong rank", () => {
  const flat = tensor([1, 1], { backend: "cpu" });
  assertThrows(
    () => paddingMaskFunction(flat),
    ShapeError,
    "Cannot create a padding mask function: expected a 2-D tensor [batch, length], got shape [2]",
  );
  assertThrows(() => packedSequenceMaskFunction(flat), ShapeError, "got shape [2]");
  assertThrows(
    () => chunkedOverlay(2, tensor([[0]], { dtype: "int32", backend: "cpu" })),
    ShapeError,
    "Cannot create a chunked overlay: left padding must be 1-D [batch], got shape [1, 1]",
  );
  assertThrows(
    () => chunkedOverlay(0, zeros([1], { dtype: "int32", backend: "cpu" })),
    RangeError,
    "Cannot create a chunked overlay: the chunk size must be a positive integer, got 0",
  );
});
