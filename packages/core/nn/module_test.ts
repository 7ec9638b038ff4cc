import { assert, assertEquals, assertThrows } from "@std/assert";
import { ones, tensor, zeros } from "../creation.ts";
import { memoryOf } from "../memory.ts";
import type { Tensor } from "../tensor.ts";
import { assertAllClose, testBackends, webgpuAvailable } from "../_testing/backends.ts";
import { setBackend } from "../backends/registry.ts";
import { Embedding } from "./embedding.ts";
import { Linear } from "./linear.ts";
import { Module, nonPersistent, parameter } from "./module.ts";
import { LayerNorm } from "./norm.ts";
import { Dropout } from "./dropout.ts";

class SelfAttention extends Module {
  query = new Linear(4, 4);
  key = new Linear(4, 4);
  forward(x: Tensor): Tensor {
    return this.query.call(x).add(this.key.call(x));
  }
}
class Layer extends Module {
  attention = { self: null } as unknown; // plain objects are not walked
  self_attn = new SelfAttention();
  LayerNorm = new LayerNorm(4);
  dropout = new Dropout(0.1);
  forward(x: Tensor): Tensor {
    return this.LayerNorm.call(this.dropout.call(this.self_attn.call(x)));
  }
}
class Encoder extends Module {
  embeddings = new Embedding(10, 4);
  layer = [new Layer(), new Layer()];
  rotary: Tensor = nonPersistent(ones([2]));
  position_ids: Tensor = zeros([3], { dtype: "int32" });
  head = new Linear(4, 10, { bias: false });
  constructor() {
    super();
    this.head.weight = this.embeddings.weight; // tied
  }
  forward(ids: Tensor): Tensor {
    let h = this.embeddings.call(ids);
    for (const l of this.layer) h = l.call(h);
    return this.head.call(h);
  }
}

testBackends("field walking gives Hugging Face names, dedupes tied parameters", () => {
  const m = new Encoder();
  const names = m.namedParameters().map(([n]) => n);
  assertEquals(names.slice(0, 3), [
    "embeddings.weight",
    "layer.0.self_attn.query.weight",
    "layer.0.self_attn.query.bias",
  ]);
  assert(names.includes("layer.1.LayerNorm.bias"));
  assert(!names.includes("head.weight"), "tied weight listed once");
  assertEquals(m.parameters().length, 1 + 2 * 6);
  const sd = Object.keys(m.stateDict());
  assert(
    sd.includes("head.weight") && sd.includes("embeddings.weight"),
    "state dict has every name",
  );
  assert(sd.includes("position_ids") && !sd.includes("rotary"), "persistent buffers only");
  assertEquals(m.namedBuffers().map(([n]) => n), ["rotary", "position_ids"]);
  assertEquals(m.namedModules().map(([n]) => n).slice(0, 4), [
    "",
    "embeddings",
    "layer.0",
    "layer.0.self_attn",
  ]);
});

testBackends("train/eval recurse; apply visits children first; freezing keeps parameters", () => {
  const m = new Encoder();
  m.eval();
  assert(m.namedModules().every(([, x]) => !x.training));
  m.train();
  assert(m.layer[1].dropout.training);
  const order: string[] = [];
  m.apply((x) => order.push(x.constructor.name));
  assertEquals(order.at(-1), "Encoder");
  m.requiresGrad_(false);
  assertEquals(m.parameters().length, 13);
  assert(m.parameters().every((p) => !p.requiresGrad));
});

testBackends("call runs pre-hooks, the forward wrapper and hooks", async () => {
  const fc = new Linear(2, 2);
  const seen: string[] = [];
  const pre = fc.registerForwardPreHook((_m, args) => {
    seen.push("pre");
    return [(args[0] as Tensor).mul(0)];
  });
  fc.setForwardWrapper((forward, args) => {
    seen.push("wrapper");
    return forward(...args);
  });
  const post = fc.registerForwardHook((_m, _a, out) => {
    seen.push("post");
    return (out as Tensor).add(1);
  });
  const y = fc.call(tensor([[5, 5]]));
  assertEquals(seen, ["pre", "wrapper", "post"]);
  const bias = await fc.bias!.data();
  assertAllClose(await y.data(), Array.from(bias, (b) => Math.fround(b + 1)));
  pre.remove();
  post.remove();
  fc.setForwardWrapper(null);
  fc.call(tensor([[1, 1]]));
  assertEquals(seen.length, 3);
});

testBackends("loadStateDict copies in place, reports keys, checks shapes", async (b) => {
  const a = new Encoder();
  const c = new Encoder();
  const p = c.layer[0].self_attn.query.weight;
  const report = c.loadStateDict(a.stateDict());
  assertEquals(report, { missingKeys: [], unexpectedKeys: [] });
  assert(c.layer[0].self_attn.query.weight === p, "identity kept");
  assertEquals(await p.toArray(), await a.layer[0].self_attn.query.weight.toArray());
  const partial = { ...a.stateDict(), extra: zeros([1]) } as Record<string, Tensor>;
  delete partial["layer.1.LayerNorm.weight"];
  assertThrows(() => c.loadStateDict(partial), Error, "layer.1.LayerNorm.weight");
  assertEquals(c.loadStateDict(partial, { strict: false }), {
    missingKeys: ["layer.1.LayerNorm.weight"],
    unexpectedKeys: ["extra"],
  });
  assertThrows(
    () => c.loadStateDict({ ...a.stateDict(), "embeddings.weight": zeros([3, 4]) }),
    RangeError,
    'Cannot load weight "embeddings.weight": expected shape [10, 4], checkpoint has [3, 4]',
  );
  // Checkpoints read on the CPU load into modules on any backend.
  const cpuWeight = tensor([[1, 2, 3, 4]], { backend: "cpu" }).expand([10, 4]).contiguous();
  c.loadStateDict({ "embeddings.weight": cpuWeight }, { strict: false });
  assertEquals(c.embeddings.weight.backend, b);
  assertEquals((await c.embeddings.weight.toArray() as number[][])[9], [1, 2, 3, 4]);
});

testBackends("a training step through modules leaves no tensor behind", async (b) => {
  const m = new Encoder();
  const ids = tensor([[1, 2, 3]], { dtype: "int32" });
  const before = memoryOf(b).liveTensors;
  const { tidy } = await import("../memory.ts");
  tidy(() => m.call(ids).sum().backward());
  const grads = m.parameters().filter((p) => p.grad).length;
  assertEquals(grads, 13);
  assertEquals(memoryOf(b).liveTensors, before + 13, "only the .grad tensors remain");
});

Deno.test({
  name: "Module.to moves parameters across backends in place",
  ignore: !webgpuAvailable,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await setBackend("cpu");
    const fc = new Linear(3, 2);
    const w = fc.weight;
    const values = await w.toArray();
    const cpuBefore = memoryOf("cpu").liveTensors;
    await fc.to("webgpu");
    assert(fc.weight === w && w.backend === "webgpu" && fc.bias!.backend === "webgpu");
    assertEquals(await w.toArray(), values);
    assertEquals(memoryOf("cpu").liveTensors, cpuBefore - 2);
    const y = fc.call(tensor([[1, 2, 3]], { backend: "webgpu" }));
    assertEquals(y.backend, "webgpu");
    await fc.to("cpu");
    assertEquals(w.backend, "cpu");
  },
});

testBackends("parameter() marks tensors as parameters that stay so when frozen", () => {
  class P extends Module {
    w = parameter(zeros([2]));
    forward(x: Tensor) {
      return x.mul(this.w);
    }
  }
  const m = new P();
  m.w.requiresGrad = false;
  assertEquals(m.namedParameters().map(([n]) => n), ["w"]);
});
