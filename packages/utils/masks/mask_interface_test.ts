import { assert, assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import { ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface } from "./mask_interface.ts";
import { eagerMask, flashAttentionMask, sdpaMask } from "./sdpa_mask.ts";
import type { MaskBuilder } from "./types.ts";

const custom: MaskBuilder = () => null;

Deno.test("AttentionMaskInterface has the default global keys", () => {
  const iface = new AttentionMaskInterface();
  assertEquals(iface.keys(), ["sdpa", "eager", "flash_attention_2"]);
  assertEquals(iface.size, 3);
  assertStrictEquals(iface.get("sdpa"), sdpaMask);
  assertStrictEquals(iface.get("eager"), eagerMask);
  assertStrictEquals(iface.get("flash_attention_2"), flashAttentionMask);
  assert(ALL_MASK_ATTENTION_FUNCTIONS instanceof AttentionMaskInterface);
});

Deno.test("AttentionMaskInterface.set() overrides locally, lookups check local first", () => {
  const mine = new AttentionMaskInterface();
  const other = new AttentionMaskInterface();
  mine.set("sdpa", custom).set("my_impl", custom);
  assertStrictEquals(mine.get("sdpa"), custom);
  assertStrictEquals(other.get("sdpa"), sdpaMask);
  assert(mine.has("my_impl") && !other.has("my_impl"));
  assertEquals(mine.keys(), ["sdpa", "eager", "flash_attention_2", "my_impl"]);
  assertEquals(mine.size, 4);
  assert(!AttentionMaskInterface.isRegistered("my_impl"));
});

Deno.test("AttentionMaskInterface.delete() removes only local entries", () => {
  const mine = new AttentionMaskInterface();
  mine.set("sdpa", custom);
  mine.delete("sdpa");
  assertStrictEquals(mine.get("sdpa"), sdpaMask);
  assertThrows(
    () => mine.delete("sdpa"),
    RangeError,
    'Cannot delete mask builder "sdpa": this instance has no local registration for it',
  );
  assertThrows(() => mine.delete("missing"), RangeError, '"missing"');
  assert(mine.has("sdpa"));
});

Deno.test("AttentionMaskInterface.register() is visible to existing and new instances", () => {
  const existing = new AttentionMaskInterface();
  existing.set("test_global", eagerMask);
  AttentionMaskInterface.register("test_global", custom);
  try {
    assert(AttentionMaskInterface.isRegistered("test_global"));
    assertStrictEquals(new AttentionMaskInterface().get("test_global"), custom);
    assertStrictEquals(ALL_MASK_ATTENTION_FUNCTIONS.get("test_global"), custom);
    // The local override still wins for the instance that set it.
    assertStrictEquals(existing.get("test_global"), eagerMask);
    existing.delete("test_global");
    assertStrictEquals(existing.get("test_global"), custom);
  } finally {
    assert(AttentionMaskInterface.unregister("test_global"));
  }
  assert(!ALL_MASK_ATTENTION_FUNCTIONS.has("test_global"));
});

Deno.test("AttentionMaskInterface.get() returns the default for unknown keys", () => {
  const iface = new AttentionMaskInterface();
  assertEquals(iface.get("nope"), undefined);
  assertStrictEquals(iface.get("nope", custom), custom);
  assertStrictEquals(iface.get("sdpa", custom), sdpaMask);
});

Deno.test("AttentionMaskInterface rejects builders that are not functions", () => {
  const bad = 3 as unknown as MaskBuilder;
  assertThrows(
    () => AttentionMaskInterface.register("bad", bad),
    TypeError,
    'Cannot register mask builder "bad": expected a function, got number',
  );
  assertThrows(() => new AttentionMaskInterface().set("bad", bad), TypeError, "got number");
});
