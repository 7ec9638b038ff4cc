import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  Embedding,
  getRngState,
  grad,
  keep,
  Linear,
  manualSeed,
  memory,
  Module,
  randn,
  resetPeakMemory,
  type Tensor,
  tensor,
  tidy,
} from "@denoformers/core";
import { assertAllClose, testBackends } from "@denoformers/core/testing";
import { checkpoint, CheckpointError, CheckpointOptions } from "./checkpoint.ts";
import {
  applyConfigGradientCheckpointing,
  disableInputRequireGrads,
  enableInputRequireGrads,
  gradientCheckpointingDisable,
  gradientCheckpointingEnable,
  isGradientCheckpointing,
} from "./gradient_checkpointing.ts";
import { gradientCheckpointingWithinBudget } from "./memory_budget.ts";
import { GradientCheckpointingLayer } from "./gradient_checkpointing_layer.ts";
import { forwardCalls, Stack } from "./_stack.ts";

/** One training step's loss and every gradient (parameters, then the input). */
async function step(model: Stack, x: Tensor, seed: number) {
  manualSeed(seed);
  for (const p of model.parameters()) p.grad = null;
  const loss = tidy(() => {
    const l = model.call(x).pow(2).mean();
    l.backward();
    return l;
  });
  const grads = await Promise.all(
    [...model.parameters(), x].map(async (t) => Array.from(await t.grad!.data())),
  );
  x.grad = null;
  return { loss: await loss.item(), grads };
}

testBackends("12 checkpointed layers with dropout give the same loss and gradients", async () => {
  manualSeed(0);
  const model = new Stack(12, 16, 2, 0.1);
  const x = randn([2, 8, 16]).requiresGrad_();
  const plain = await step(model, x, 42);
  gradientCheckpointingEnable(model);
  forwardCalls.count = 0;
  const rngBefore = getRngState();
  const ckpt = await step(model, x, 42);
  assertEquals(forwardCalls.count, 24, "each layer's forward runs twice per step");
  assert(
    getRngState().offset >= rngBefore.offset,
    "the random stream moves on as without recomputation",
  );
  assertAllClose([ckpt.loss], [plain.loss], { rtol: 1e-6, atol: 0 });
  plain.grads.forEach((g, i) =>
    assertAllClose(ckpt.grads[i], g, { rtol: 1e-6, atol: 1e-9, label: `gradient ${i}` })
  );
});

testBackends("the recomputation replays the first run's dropout masks exactly", async () => {
  manualSeed(1);
  const model = new Stack(2, 8, 2, 0.5);
  gradientCheckpointingEnable(model);
  const seen: Tensor[] = [];
  // Keep copies: the first run's tensors are freed as soon as it ends.
  model.blocks[1].dropout.registerForwardHook((_m, _a, out) =>
    void seen.push(keep((out as Tensor).detach()))
  );
  const x = randn([1, 4, 8]).requiresGrad_();
  model.call(x).sum().backward();
  assertEquals(seen.length, 6, "three dropout calls, each in the first run and the recomputation");
  for (let i = 0; i < 3; i++) assertEquals(await seen[i + 3].data(), await seen[i].data());
});

testBackends(
  "a tensor inside an options object gets the same gradient with checkpointing",
  async () => {
    manualSeed(2);
    const model = new Stack(3, 8, 2, 0);
    const x = randn([1, 4, 8]);
    const bias = randn([1, 1, 4, 4]).mul(0.1).requiresGrad_();
    const [plain] = grad(model.call(x, { bias }).sum(), [bias]);
    gradientCheckpointingEnable(model);
    const [ckpt] = grad(model.call(x, { bias }).sum(), [bias]);
    assertAllClose(await ckpt!.data(), await plain!.data(), { rtol: 1e-6, atol: 1e-7 });
  },
);

testBackends("caches are turned off with one warning in training; eval changes nothing", (b) => {
  // Warnings are once per layer class per process; give each backend's run its own class.
  const CacheLayer = class extends GradientCheckpointingLayer {
    fc = new Linear(2, 2);
    seen: unknown[] = [];
    forward(x: Tensor, options: { useCache?: boolean; pastKeyValues?: unknown } = {}): Tensor {
      this.seen.push({ ...options });
      return this.fc.call(x);
    }
  };
  Object.defineProperty(CacheLayer, "name", { value: `CacheLayer${b}` });
  const layer = new CacheLayer();
  layer.gradientCheckpointing = true;
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (m: string) => void warnings.push(m);
  try {
    const x = tensor([[1, 2]]);
    for (let i = 0; i < 3; i++) layer.call(x, { useCache: true, pastKeyValues: { layers: [] } });
    assertEquals(warnings, [
      `Caching is incompatible with gradient checkpointing in CacheLayer${b}. Setting \`use_cache=False\`, \`past_key_values=None\`.`,
    ]);
    assertEquals(layer.seen[0], { useCache: false, pastKeyValues: null });
    layer.eval();
    layer.seen = [];
    layer.call(x, { useCache: true, pastKeyValues: "cache" });
    assertEquals(layer.seen, [{ useCache: true, pastKeyValues: "cache" }]);
    assertEquals(warnings.length, 1);
  } finally {
    console.warn = original;
  }
});

testBackends(
  "enable, disable and isGradientCheckpointing toggle every layer; errors for others",
  () => {
    const model = new Stack(3, 8, 2, 0);
    assert(!isGradientCheckpointing(model));
    gradientCheckpointingEnable(model);
    assert(model.blocks.every((b) => b.gradientCheckpointing) && isGradientCheckpointing(model));
    gradientCheckpointingDisable(model);
    assert(!isGradientCheckpointing(model));
    assertThrows(
      () => gradientCheckpointingEnable(new Linear(2, 2)),
      Error,
      "Linear does not support gradient checkpointing.",
    );
    const flagged = Object.assign(new Linear(2, 2), { supportsGradientCheckpointing: true });
    assertThrows(
      () => gradientCheckpointingEnable(flagged),
      Error,
      "is not compatible with gradient checkpointing",
    );
  },
);

testBackends(
  "enableInputRequireGrads lets frozen-embedding models train their layers",
  async () => {
    class Lm extends Module {
      emb = new Embedding(10, 8);
      stack = new Stack(2, 8, 2, 0);
      getInputEmbeddings() {
        return this.emb;
      }
      forward(ids: Tensor) {
        return this.stack.call(this.emb.call(ids));
      }
    }
    const lm = new Lm();
    lm.emb.requiresGrad_(false);
    lm.stack.requiresGrad_(false);
    const ids = tensor([[1, 2, 3]], { dtype: "int32" });
    assert(!lm.call(ids).requiresGrad, "nothing requires grad yet");
    enableInputRequireGrads(lm);
    const out = lm.call(ids);
    assert(out.requiresGrad, "the embedding output now carries a graph");
    gradientCheckpointingEnable(lm.stack);
    lm.stack.blocks[0].fc.requiresGrad_(true);
    lm.call(ids).sum().backward();
    assert(
      lm.stack.blocks[0].fc.weight.grad,
      "a trainable layer behind the frozen embeddings gets gradients",
    );
    disableInputRequireGrads(lm);
    assert(!lm.emb.call(ids).requiresGrad);
    await Promise.resolve();
  },
);

testBackends("nested checkpoints, grad(), and the determinism check", async () => {
  const w = tensor([0.5, -1, 2], { requiresGrad: true });
  const inner = (a: Tensor) => a.mul(w).tanh();
  const outer = (a: Tensor) => checkpoint(inner, a).mul(3).sin();
  const x = tensor([1, 2, 3], { requiresGrad: true });
  const [gx, gw] = grad(checkpoint(outer, x).sum(), [x, w]);
  const [ex, ew] = grad(outer(x).sum(), [x, w]);
  assertAllClose(await gx!.data(), await ex!.data());
  assertAllClose(await gw!.data(), await ew!.data());
  let calls = 0;
  const longer = (a: Tensor) => (++calls === 1 ? a.mul(2) : a.mul(2).add(1));
  assertThrows(
    () => checkpoint(longer, x).sum().backward(),
    CheckpointError,
    "executed 1 ops but the recomputation executed 2",
  );
  calls = 0;
  const reshaped = (a: Tensor) => (++calls === 1 ? a.mul(2) : a.unsqueeze(0).mul(2).squeeze(0));
  assertThrows(
    () => checkpoint(reshaped, x).sum().backward(),
    CheckpointError,
    'op #0 was "mul [3] float32" in the first run but "reshape [1, 3] float32"',
  );
  calls = 0;
  checkpoint(longer, x, new CheckpointOptions({ determinismCheck: "none" })).sum().backward();
  const pair = checkpoint((a: Tensor) => ({ s: a.sin(), c: [a.cos()] }), x);
  const [gp] = grad(pair.s.sum().add(pair.c[0].sum()), [x]);
  const xs = Array.from(await x.data());
  assertAllClose(await gp!.data(), xs.map((v) => Math.cos(v) - Math.sin(v)));
});

testBackends(
  "checkpointing a 12-layer stack at sequence 256 holds at most 40% of the peak memory",
  (b) => {
    manualSeed(3);
    const model = new Stack(12, 32, 2, 0.1);
    const x = randn([1, 256, 32]);
    const peak = () => {
      const base = memory(b).liveBytes;
      resetPeakMemory(b);
      tidy(() => model.call(x).pow(2).mean().backward());
      const p = memory(b).peakBytes - base;
      for (const q of model.parameters()) {
        q.grad?.dispose();
        q.grad = null;
      }
      return p;
    };
    const plain = peak();
    gradientCheckpointingEnable(model);
    const ckpt = peak();
    console.log(
      `peak bytes on ${b}: plain ${plain}, checkpointed ${ckpt} (${
        (100 * ckpt / plain).toFixed(1)
      }%)`,
    );
    assert(ckpt <= 0.4 * plain, `checkpointed peak ${ckpt} vs ${plain}`);
    gradientCheckpointingDisable(model);
    const probe = () => model.call(x).pow(2).mean().backward();
    const first = gradientCheckpointingWithinBudget(model, {
      memoryBudgetBytes: 1e12,
      probe,
      backend: b,
    });
    assertEquals(first.unchecked, 12);
    const budget = first.minimumBytes + 2.5 * (plain - first.minimumBytes) / 12;
    const report = gradientCheckpointingWithinBudget(model, {
      memoryBudgetBytes: budget,
      probe,
      backend: b,
    });
    console.log(
      `budget ${
        Math.round(budget)
      }: ${report.unchecked} of 12 layers unchecked, peak ${report.peakBytes}`,
    );
    assert(report.peakBytes <= budget && report.unchecked >= 1 && report.unchecked < 12);
    assertThrows(
      () =>
        gradientCheckpointingWithinBudget(model, { memoryBudgetBytes: 1000, probe, backend: b }),
      RangeError,
      "every layer checkpointed",
    );
  },
);

Deno.test("config.gradient_checkpointing enables checkpointing once and is not saved again", () => {
  const model = Object.assign(new Stack(2, 8, 2, 0), {
    config: { model_type: "toy", gradient_checkpointing: true } as Record<string, unknown>,
  });
  assertEquals(applyConfigGradientCheckpointing(model), true);
  assert(isGradientCheckpointing(model));
  assert(!("gradient_checkpointing" in model.config));
  assertEquals(applyConfigGradientCheckpointing(model), false);
});
