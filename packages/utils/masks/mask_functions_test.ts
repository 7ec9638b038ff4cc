import { assertEquals, assertThrows } from "@std/assert";
import type { Tensor } from "@denoformers/core";
import { evaluate, maskRows, testBackends } from "./_test_util.ts";
import {
  addOffsetsToMaskFunction,
  andMasks,
  bidirectionalMaskFunction,
  causalMaskFunction,
  type MaskFunction,
  orMasks,
  slidingWindowBidirectionalMaskFunction,
  slidingWindowBidirectionalOverlay,
  slidingWindowCausalMaskFunction,
  slidingWindowOverlay,
} from "./mask_functions.ts";

const onlyKey = (k: number): MaskFunction => (_b, _h, _q, kv: Tensor) => kv.eq(k);

testBackends("causalMaskFunction() allows kv <= q", async () => {
  assertEquals(await maskRows(evaluate(causalMaskFunction, [1, 3, 3])), [["100", "110", "111"]]);
});

testBackends("bidirectionalMaskFunction() allows every pair", async () => {
  assertEquals(await maskRows(evaluate(bidirectionalMaskFunction, [2, 2, 3])), [
    ["111", "111"],
    ["111", "111"],
  ]);
});

testBackends("slidingWindowOverlay() keeps the window including the query", async () => {
  // kv > q - 3: the overlay alone also allows the future.
  assertEquals(await maskRows(evaluate(slidingWindowOverlay(3), [1, 5, 5])), [[
    "11111",
    "11111",
    "11111",
    "01111",
    "00111",
  ]]);
});

testBackends("slidingWindowCausalMaskFunction() gives the §5.9 window-3 rows", async () => {
  assertEquals(await maskRows(evaluate(slidingWindowCausalMaskFunction(3), [1, 5, 5])), [[
    "10000",
    "11000",
    "11100",
    "01110",
    "00111",
  ]]);
});

testBackends("slidingWindowBidirectional*() allow |q - kv| <= w", async () => {
  const expected = [["11000", "11100", "01110", "00111", "00011"]];
  assertEquals(await maskRows(evaluate(slidingWindowBidirectionalOverlay(1), [1, 5, 5])), expected);
  const fn = slidingWindowBidirectionalMaskFunction(1);
  assertEquals(await maskRows(evaluate(fn, [1, 5, 5])), expected);
});

testBackends("andMasks() and orMasks() compose mask functions", async () => {
  const and = andMasks(causalMaskFunction, orMasks(onlyKey(0), onlyKey(2)));
  assertEquals(await maskRows(evaluate(and, [1, 3, 3])), [["100", "100", "101"]]);
  const or = orMasks(causalMaskFunction, onlyKey(2));
  assertEquals(await maskRows(evaluate(or, [1, 3, 3])), [["101", "111", "111"]]);
});

testBackends("andMasks() of nothing allows all, orMasks() of nothing allows none", async () => {
  assertEquals(await maskRows(evaluate(andMasks(), [1, 1, 2])), [["11"]]);
  assertEquals(await maskRows(evaluate(orMasks(), [1, 1, 2])), [["00"]]);
});

testBackends("addOffsetsToMaskFunction() shifts query and key positions", async () => {
  // Two new queries after 3 cached tokens, keys 1..4 of a window starting at 1.
  const fn = addOffsetsToMaskFunction(causalMaskFunction, 3, 1);
  assertEquals(await maskRows(evaluate(fn, [1, 2, 4])), [["1110", "1111"]]);
  const offsetGrid = evaluate(causalMaskFunction, [1, 2, 4], [3, 1]);
  assertEquals(await maskRows(offsetGrid), [["1110", "1111"]]);
});

Deno.test("andMasks() and orMasks() reject arguments that are not functions", () => {
  const bad = [causalMaskFunction, 3] as unknown as MaskFunction[];
  assertThrows(
    () => andMasks(...bad),
    TypeError,
    "Cannot combine mask functions: all inputs should be callable mask functions, got [function, number]",
  );
  assertThrows(
    () => orMasks(causalMaskFunction, null as unknown as MaskFunction),
    TypeError,
    "got [function, null]",
  );
});

Deno.test("sliding-window overlays reject windows that are not positive integers", () => {
  assertThrows(
    () => slidingWindowOverlay(0),
    RangeError,
    "Cannot create a sliding-window overlay: the window must be a positive integer, got 0",
  );
  assertThrows(() => slidingWindowCausalMaskFunction(1.5), RangeError, "got 1.5");
  assertThrows(() => slidingWindowBidirectionalOverlay(-1), RangeError, "got -1");
});
