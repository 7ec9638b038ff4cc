import { assert, assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import { tensor } from "../creation.ts";
import { memoryOf, tidy } from "../memory.ts";
import type { Tensor } from "../tensor.ts";
import { testBackends } from "../_testing/backends.ts";
import { setGrad } from "../_testing/optim_steps.ts";
import { AdamW } from "./adamw.ts";
import { clipGradNorm } from "./clip_grad.ts";
import type { Optimizer, OptimizerStateDict } from "./optimizer.ts";
import { linearScheduleWithWarmup } from "./schedules.ts";
import { SGD } from "./sgd.ts";

const GRADS = [[0.1, -0.2, 0.3], [0.5, 0.4, -0.1], [-0.3, 0.2, 0.05], [0.2, 0.2, -0.4]];

type Make = (params: Tensor[]) => Optimizer<{ lr: number }>;
const MAKERS: [string, Make][] = [
  ["SGD", (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
  ["AdamW", (ps) => new AdamW(ps, { lr: 0.01, amsgrad: true })],
];

testBackends("stateDict() and loadStateDict() resume to identical updates", async () => {
  for (const [name, make] of MAKERS) {
    // Uninterrupted run of 4 steps.
    const p = tensor([1, -2, 0.5], { requiresGrad: true });
    const q = tensor([3], { requiresGrad: true });
    const opt = make([p, q]);
    for (const g of GRADS) {
      setGrad(p, g);
      setGrad(q, [g[0]]);
      opt.step();
    }
    // Interrupted after 2 steps; the state goes through JSON.
    const p2 = tensor([1, -2, 0.5], { requiresGrad: true });
    const q2 = tensor([3], { requiresGrad: true });
    const first = make([p2, q2]);
    for (const g of GRADS.slice(0, 2)) {
      setGrad(p2, g);
      setGrad(q2, [g[0]]);
      first.step();
    }
    const saved: OptimizerStateDict = JSON.parse(JSON.stringify(await first.stateDict()));
    assertEquals(saved.state[0].step, 2);
    assertEquals(saved.paramGroups[0].params, [0, 1]);
    first.dispose();
    const resumed = make([p2, q2]);
    resumed.paramGroups[0].lr = 123; // restored from the snapshot
    resumed.loadStateDict(saved);
    assertEquals(resumed.paramGroups[0].lr, opt.paramGroups[0].lr);
    for (const g of GRADS.slice(2)) {
      setGrad(p2, g);
      setGrad(q2, [g[0]]);
      resumed.step();
    }
    assertEquals(Array.from(await p2.data()), Array.from(await p.data()), name);
    assertEquals(Array.from(await q2.data()), Array.from(await q.data()), name);
    assertEquals(resumed.state.get(p2)!.step, 4);
    opt.dispose();
    resumed.dispose();
  }
});

testBackends("a tidy'd training step leaks no tensors after the first one", async (b) => {
  for (const [name, make] of MAKERS) {
    const w = tensor([0.5, -1, 2], { requiresGrad: true });
    const x = tensor([[1, 2, 3], [0, 1, -1]]);
    const y = tensor([1, 0]);
    const opt = make([w]);
    const sched = linearScheduleWithWarmup(opt, { numWarmupSteps: 2, numTrainingSteps: 10 });
    const trainStep = () =>
      tidy(() => {
        const loss = x.matmul(w).sub(y).pow(2).mean();
        loss.backward();
        clipGradNorm([w], 1);
        opt.step();
        sched.step();
        opt.zeroGrad();
        return loss;
      });
    (await trainStep()).dispose();
    const before = memoryOf(b);
    for (let i = 0; i < 4; i++) {
      const loss = trainStep();
      assert(Number.isFinite(await loss.item()));
      loss.dispose();
      assertEquals(memoryOf(b).liveTensors, before.liveTensors, `${name} step ${i}`);
      assertEquals(memoryOf(b).liveBytes, before.liveBytes, `${name} step ${i}`);
    }
    opt.dispose();
  }
});

testBackends(
  "zeroGrad() disposes grads, or zeroes them in place with setToNone false",
  async () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1 });
    setGrad(p, [3, 4]);
    const g = p.grad!;
    opt.zeroGrad({ setToNone: false });
    assertStrictEquals(p.grad, g);
    assertEquals(await g.toArray(), [0, 0]);
    opt.zeroGrad();
    assertEquals(p.grad, null);
    assert(g.isDisposed);
  },
);

Deno.test("Optimizer rejects bad parameter lists and mismatched snapshots", () => {
  const cpu = { backend: "cpu" } as const;
  const a = tensor([1], cpu);
  assertThrows(() => new SGD([]), RangeError, "the parameter list is empty");
  assertThrows(
    () => new SGD([{ params: [a] }, { params: [a] }]),
    RangeError,
    "more than one group",
  );
  assertThrows(() => new SGD([tensor([1], { dtype: "int32", ...cpu })]), TypeError, "int32");
  const opt = new SGD([a]);
  assertThrows(
    () => opt.loadStateDict({ state: {}, paramGroups: [] }),
    RangeError,
    "it has 0 parameter groups, expected 1",
  );
  assertThrows(
    () => opt.loadStateDict({ state: {}, paramGroups: [{ params: [0, 1] }] }),
    RangeError,
    "group 0 has 2 parameters, expected 1",
  );
});
