import { assert, assertEquals, assertThrows } from "@std/assert";
import { fromTypedArray, type Tensor } from "./tensor.ts";
import { keep, memoryOf, resetPeakMemory, tidy } from "./memory.ts";
import { noGrad } from "./grad_mode.ts";
import { manualSeed } from "./rng.ts";
import { randn, tensor, zeros } from "./creation.ts";
import { testBackends } from "./_testing/backends.ts";
import type { BackendName } from "./backends/backend.ts";

function mlp() {
  manualSeed(0);
  const p = {
    w1: randn([4, 8]).mul(0.5),
    b1: zeros([8]),
    w2: randn([8, 1]).mul(0.5),
    b2: zeros([1]),
  };
  for (const t of Object.values(p)) t.requiresGrad_(true);
  const x = randn([16, 4]);
  const y = x.sum(1, { keepdim: true }).sin();
  return { p, x, y };
}

function step(m: ReturnType<typeof mlp>, lr: number): Tensor {
  return tidy(() => {
    const { w1, b1, w2, b2 } = m.p;
    const h = m.x.matmul(w1).add(b1).relu();
    const loss = h.matmul(w2).add(b2).sub(m.y).pow(2).mean();
    loss.backward();
    noGrad(() => {
      for (const param of Object.values(m.p)) {
        param.assign(param.sub(param.grad!.mul(lr)));
        param.grad!.dispose();
        param.grad = null;
      }
    });
    return loss;
  });
}

testBackends(
  "a tidy'd MLP training step leaves liveTensors and liveBytes where they were",
  async (b) => {
    const m = mlp();
    const first = step(m, 0.05);
    const firstLoss = await first.item();
    first.dispose();
    const before = memoryOf(b);
    let last = firstLoss;
    for (let i = 0; i < 5; i++) {
      const loss = step(m, 0.05);
      last = await loss.item();
      loss.dispose();
      const after = memoryOf(b);
      assertEquals(after.liveTensors, before.liveTensors, `step ${i}: live tensors`);
      assertEquals(after.liveBytes, before.liveBytes, `step ${i}: live bytes`);
    }
    assert(last < firstLoss, `loss went from ${firstLoss} to ${last}`);
  },
);

testBackends("gradients accumulated across tidy'd steps survive the scope", async () => {
  const w = tensor([1, 2], { requiresGrad: true });
  tidy(() => w.mul(w).sum().backward());
  tidy(() => w.mul(3).sum().backward());
  assertEquals(await w.grad!.toArray(), [5, 7]);
});

testBackends("peakBytes and liveBytes follow known allocation sizes", (b) => {
  const bytes = b === "cpu" ? { f32: 4, bool: 1 } : { f32: 4, bool: 4 };
  const base = memoryOf(b);
  const live = () => memoryOf(b).liveBytes - base.liveBytes;
  resetPeakMemory(b);
  const a = zeros([256]);
  const c = zeros([128]);
  const flags = fromTypedArray(new Uint8Array(100), [100]);
  const all = 384 * bytes.f32 + 100 * bytes.bool;
  assertEquals(live(), all);
  const square = a.reshape([16, 16]);
  const view = square.transpose(0, 1);
  assertEquals(live(), all, "views add no bytes");
  assertEquals(memoryOf(b).liveTensors - base.liveTensors, 5, "views are live tensors");
  a.dispose();
  square.dispose();
  assertEquals(live(), all, "a live view keeps the shared buffer");
  view.dispose();
  assertEquals(live(), 128 * bytes.f32 + 100 * bytes.bool, "the last view frees it");
  c.dispose();
  flags.dispose();
  const d = zeros([64]);
  assertEquals(live(), 64 * bytes.f32);
  assertEquals(memoryOf(b).peakBytes - base.liveBytes, all, "peak is the largest live total");
  d.dispose();
  assertEquals(memoryOf(b).liveTensors, base.liveTensors);
});

testBackends("tidy disposes intermediates, keeps returned and kept tensors", (b: BackendName) => {
  const x = tensor([1, 2, 3]);
  const before = memoryOf(b).liveTensors;
  let kept: Tensor | undefined;
  const { out, list } = tidy(() => {
    const t = x.mul(2).add(1).exp();
    kept = keep(x.neg());
    return { out: t, list: [x.sub(1)] };
  });
  assertEquals(memoryOf(b).liveTensors, before + 3);
  assert(!out.isDisposed && !list[0].isDisposed && !kept!.isDisposed);
  for (const t of [out, list[0], kept!]) t.dispose();
  assertEquals(memoryOf(b).liveTensors, before);
  assertThrows(() => tidy(() => Promise.resolve(1)), TypeError, "async");
});

testBackends("using disposes at the end of the block", (b) => {
  const before = memoryOf(b).liveTensors;
  {
    using t = zeros([3]);
    assertEquals(memoryOf(b).liveTensors, before + 1);
    assert(!t.isDisposed);
  }
  assertEquals(memoryOf(b).liveTensors, before);
});
