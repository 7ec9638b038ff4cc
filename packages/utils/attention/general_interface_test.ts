import { assert, assertEquals, assertFalse, assertThrows } from "@std/assert";
import { GeneralInterface } from "./general_interface.ts";

type Fn = (x: number) => number;
const double: Fn = (x) => 2 * x;
const triple: Fn = (x) => 3 * x;
const negate: Fn = (x) => -x;

Deno.test("GeneralInterface.register() is class-wide: existing and future instances see it", () => {
  class Ops extends GeneralInterface<Fn> {}
  const before = new Ops();
  Ops.register("double", double);
  const after = new Ops();
  assert(before.get("double") === double);
  assert(after.get("double") === double);
  assert(before.has("double") && after.has("double"));
  Ops.register("double", triple); // re-registering replaces, for everyone
  assert(before.get("double") === triple && after.get("double") === triple);
});

Deno.test("GeneralInterface.set() writes one instance's local layer, which wins over global", () => {
  class Ops extends GeneralInterface<Fn> {}
  Ops.register("f", double);
  const a = new Ops();
  const b = new Ops();
  assert(a.set("f", triple) === a);
  a.set("only_a", negate);
  assert(a.get("f") === triple);
  assert(b.get("f") === double);
  assertFalse(b.has("only_a"));
  assertEquals(new Ops().keys(), ["f"]);
});

Deno.test("GeneralInterface.delete() removes local entries only", () => {
  class Ops extends GeneralInterface<Fn> {}
  Ops.register("f", double);
  const a = new Ops().set("f", triple).set("g", negate);
  a.delete("f");
  assert(a.get("f") === double, "the global entry shows through again");
  a.delete("g");
  assertFalse(a.has("g"));
  assertThrows(
    () => a.delete("f"),
    RangeError,
    'Cannot delete "f" from Ops: key is only registered globally',
  );
  assertThrows(() => a.delete("nope"), RangeError, 'registered keys are "f"');
  assert(new Ops().get("f") === double);
});

Deno.test("GeneralInterface.get() names the unknown key and lists the registered ones", () => {
  class Ops extends GeneralInterface<Fn> {}
  Ops.register("f", double);
  const a = new Ops().set("g", triple);
  assertThrows(
    () => a.get("h"),
    RangeError,
    'Cannot get "h" from Ops: key is not registered: registered keys are "f", "g"',
  );
  class Empty extends GeneralInterface<Fn> {}
  assertThrows(() => new Empty().get("h"), RangeError, "registered keys are none");
});

Deno.test("GeneralInterface getOr(), has(), keys() and size cover both layers", () => {
  class Ops extends GeneralInterface<Fn> {}
  Ops.register("f", double);
  Ops.register("g", double);
  const a = new Ops().set("g", triple).set("h", negate);
  assert(a.getOr("f", null) === double);
  assert(a.getOr("g", null) === triple);
  assertEquals(a.getOr("zzz", null), null);
  assert(a.has("f") && a.has("h"));
  assertFalse(a.has("zzz"));
  assertEquals(a.keys(), ["f", "g", "h"]);
  assertEquals(a.size, 3);
  assertEquals(new Ops().size, 2);
});

Deno.test("GeneralInterface subclasses keep separate global layers", () => {
  class Left extends GeneralInterface<Fn> {}
  class Right extends GeneralInterface<Fn> {}
  Left.register("f", double);
  Right.register("g", triple);
  assertEquals(new Left().keys(), ["f"]);
  assertEquals(new Right().keys(), ["g"]);
  // A subclass of a subclass sees its parent's entries; its own never reach the parent.
  class LeftChild extends Left {}
  LeftChild.register("h", negate);
  LeftChild.register("f", triple);
  assertEquals(new LeftChild().keys(), ["f", "h"]);
  assert(new LeftChild().get("f") === triple);
  assert(new Left().get("f") === double);
  assertFalse(new Left().has("h"));
  assertThrows(
    () => GeneralInterface.register("x", double),
    TypeError,
    'Cannot register "x" on GeneralInterface itself: register on a subclass',
  );
});
