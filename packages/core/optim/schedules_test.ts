import { assertEquals, assertThrows } from "@std/assert";
import { tensor } from "../creation.ts";
import { assertAllClose } from "../_testing/backends.ts";
import { AdamW } from "./adamw.ts";
import {
  constantSchedule,
  constantScheduleWithWarmup,
  cosineScheduleWithWarmup,
  LambdaLR,
  linearScheduleWithWarmup,
  type LRScheduler,
} from "./schedules.ts";
import { SGD } from "./sgd.ts";

const BASE_LR = 0.3;

function optimizer(lr = BASE_LR): SGD {
  return new SGD([tensor([1], { backend: "cpu" })], { lr });
}

/** The learning rate at each of `steps` (sorted), stepping the scheduler forward. */
function lrsAt(sched: LRScheduler, steps: number[]): number[] {
  return steps.map((s) => {
    while (sched.lastEpoch < s) sched.step();
    return sched.getLastLr()[0];
  });
}

Deno.test("linearScheduleWithWarmup() gives HF's learning rates", () => {
  const opt = optimizer();
  const sched = linearScheduleWithWarmup(opt, { numWarmupSteps: 10, numTrainingSteps: 100 });
  assertEquals(opt.paramGroups[0].lr, 0, "construction sets the step-0 rate");
  const lrs = lrsAt(sched, [0, 5, 10, 55, 100, 120]);
  assertAllClose(lrs, [0, 0.5, 1, 0.5, 0, 0].map((f) => f * BASE_LR), { atol: 1e-15 });
  assertEquals(opt.paramGroups[0].lr, 0);
});

Deno.test("cosineScheduleWithWarmup() gives HF's learning rates", () => {
  const half = cosineScheduleWithWarmup(optimizer(), {
    numWarmupSteps: 10,
    numTrainingSteps: 110,
  });
  const expected = [0, 0.5, 1, 0.5 * (1 + Math.cos(Math.PI / 4)), 0.5, 0];
  assertAllClose(lrsAt(half, [0, 5, 10, 35, 60, 110]), expected.map((f) => f * BASE_LR), {
    atol: 1e-15,
  });
  // Two cycles: back at the maximum at mid-training, clamped at 0 nowhere since cos ≥ -1.
  const two = cosineScheduleWithWarmup(optimizer(), {
    numWarmupSteps: 10,
    numTrainingSteps: 110,
    numCycles: 1,
  });
  assertAllClose(lrsAt(two, [35, 60, 110]), [0.5, 0, 1].map((f) => f * BASE_LR), {
    atol: 1e-15,
  });
});

Deno.test("constantSchedule() and constantScheduleWithWarmup() give HF's learning rates", () => {
  const warm = constantScheduleWithWarmup(optimizer(), { numWarmupSteps: 4 });
  assertAllClose(lrsAt(warm, [0, 2, 4, 9]), [0, 0.5, 1, 1].map((f) => f * BASE_LR));
  assertAllClose(lrsAt(constantSchedule(optimizer()), [0, 7]), [BASE_LR, BASE_LR]);
  const noWarmup = constantScheduleWithWarmup(optimizer(), {});
  assertEquals(noWarmup.getLastLr(), [BASE_LR]);
});

Deno.test("LambdaLR scales each group's own base lr, one lambda per group", () => {
  const a = tensor([1], { backend: "cpu" });
  const b = tensor([2], { backend: "cpu" });
  const opt = new AdamW([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
  const sched = new LambdaLR(opt, [(s) => s, (s) => 1 / (s + 1)]);
  assertEquals(sched.getLastLr(), [0, 0.5]);
  sched.step();
  assertEquals(sched.getLastLr(), [0.1, 0.25]);
  assertEquals(opt.paramGroups.map((g) => g.lr), [0.1, 0.25]);
  assertEquals(sched.baseLrs, [0.1, 0.5]);
  assertThrows(() => new LambdaLR(opt, [(s) => s]), RangeError, "1 lr lambdas for 2");
});

Deno.test("schedulers resume from lastEpoch or a saved state", () => {
  const opt = optimizer();
  const sched = linearScheduleWithWarmup(opt, { numWarmupSteps: 10, numTrainingSteps: 100 });
  lrsAt(sched, [54]);
  const saved = sched.stateDict();
  // A new scheduler on the same optimizer keeps initialLr and starts after step 54.
  const resumed = linearScheduleWithWarmup(opt, {
    numWarmupSteps: 10,
    numTrainingSteps: 100,
    lastEpoch: 54,
  });
  assertAllClose(resumed.getLastLr(), [0.5 * BASE_LR]);
  const other = linearScheduleWithWarmup(optimizer(), {
    numWarmupSteps: 10,
    numTrainingSteps: 100,
  });
  other.loadStateDict(saved);
  other.step();
  assertAllClose(other.getLastLr(), [0.5 * BASE_LR]);
  assertThrows(
    () => constantSchedule(optimizer(), { lastEpoch: 3 }),
    RangeError,
    "param group 0 has no initialLr",
  );
});
