// The shared part of the generic heads: base model under its prefix, hidden_size checked before
// anything is built (the error names the concrete head), the loss override and its reset, and
// only the head's own layers initialised.
import { assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import { Linear, type Tensor, withBackend } from "@denoformers/core";
import { GenericHead } from "./generic_head.ts";
import { ToyConfig, ToyModel } from "./_toy.ts";

type Loss = (x: Tensor) => Tensor;
const sum: Loss = (x) => x.sum();

class Head extends GenericHead<Loss> {
  declare proj: Linear;
  constructor(config: ToyConfig, base = new ToyModel(config)) {
    super(config, { baseModel: base, baseModelPrefix: "toy" }, sum);
    this.proj = new Linear(this.hiddenSize, 2, { backend: "cpu" });
    this.postInit();
  }
  forward(): Tensor {
    throw new Error("unused");
  }
}

/** Builds on the CPU backend without changing the process default. */
const onCpu = <T>(fn: () => T) => withBackend("cpu", fn);

Deno.test("GenericHead stores the base model under its prefix and keeps its weights", async () => {
  const config = new ToyConfig({ hidden_size: 4 });
  const base = await onCpu(() => new ToyModel(config));
  const before = base.parameters().map((p) => Array.from(p.dataSync()));
  const head = await onCpu(() => new Head(config, base));
  assertStrictEquals(head.baseModel, base);
  assertEquals(head.baseModelPrefix, "toy");
  assertEquals(base.parameters().map((p) => Array.from(p.dataSync())), before);
  assertEquals(Object.keys(head.stateDict()).some((k) => k.startsWith("toy.")), true);
});

Deno.test("GenericHead checks hidden_size first and names the concrete head", async () => {
  const base = await onCpu(() => new ToyModel(new ToyConfig()));
  assertThrows(
    () => new Head(new ToyConfig({ hidden_size: 0 }), base),
    TypeError,
    "Cannot build Head: config.hidden_size is 0",
  );
});

Deno.test("GenericHead's loss is the task default until one is assigned, and null restores it", async () => {
  const head = await onCpu(() => new Head(new ToyConfig({ hidden_size: 4 })));
  assertStrictEquals(head.lossFunction, sum);
  const mean: Loss = (x) => x.mean();
  head.lossFunction = mean;
  assertStrictEquals(head.lossFunction, mean);
  head.lossFunction = null;
  assertStrictEquals(head.lossFunction, sum);
});
