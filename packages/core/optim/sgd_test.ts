import { assertEquals, assertThrows } from "@std/assert";
import { tensor } from "../creation.ts";
import { assertAllClose, testBackends } from "../_testing/backends.ts";
import { runSteps, setGrad } from "../_testing/optim_steps.ts";
import { SGD, type SGDOptions } from "./sgd.ts";

const P0 = [1, -2, 0.5];
const GRADS = [[0.1, -0.2, 0.3], [0.5, 0.4, -0.1], [-0.3, 0.2, 0.05]];

/** torch.optim.SGD's documented update, in plain float64 JS. */
function sgdReference(o: SGDOptions): number[][] {
  let p = [...P0];
  let buf: number[] | null = null;
  return GRADS.map((grad) => {
    const d = grad.map((g, i) => (o.maximize ? -g : g) + o.weightDecay * p[i]);
    let step = d;
    if (o.momentum !== 0) {
      const prev: number[] | null = buf;
      const next: number[] = prev
        ? prev.map((b, i) => o.momentum * b + (1 - o.dampening) * d[i])
        : [...d];
      buf = next;
      step = o.nesterov ? d.map((v, i) => v + o.momentum * next[i]) : next;
    }
    p = p.map((v, i) => v - o.lr * step[i]);
    return p;
  });
}

const run = (options: SGDOptions): Promise<number[][]> =>
  runSteps((params) => new SGD(params, options), P0, GRADS);

const BASE: SGDOptions = {
  lr: 0.1,
  momentum: 0,
  dampening: 0,
  weightDecay: 0,
  nesterov: false,
  maximize: false,
};

testBackends(
  "SGD() with Nesterov momentum and weight decay follows torch for 3 steps",
  async () => {
    const o = { ...BASE, momentum: 0.9, weightDecay: 0.01, nesterov: true };
    const got = await run(o);
    // Step 1 by hand: d = 0.1 + 0.01·1 = 0.11, b = d, step = d + 0.9·b = 0.209, p = 1 - 0.0209.
    assertAllClose([got[0][0]], [0.9791], { rtol: 1e-6 });
    const expected = sgdReference(o);
    got.forEach((row, i) =>
      assertAllClose(row, expected[i], { rtol: 1e-6, label: `step ${i + 1}` })
    );
  },
);

testBackends("SGD() with dampening, maximize and plain momentum follows torch", async () => {
  for (
    const o of [
      { ...BASE, momentum: 0.8, dampening: 0.5, weightDecay: 0.1 },
      { ...BASE, momentum: 0.9, maximize: true, weightDecay: 0.05 },
      { ...BASE, lr: 0.3 },
    ]
  ) {
    const got = await run(o);
    const expected = sgdReference(o);
    got.forEach((row, i) =>
      assertAllClose(row, expected[i], { rtol: 1e-6, label: `${JSON.stringify(o)} ${i + 1}` })
    );
  }
});

testBackends("SGD() keeps the parameter object and skips parameters without grad", async () => {
  const a = tensor([1, 2], { requiresGrad: true });
  const b = tensor([3], { requiresGrad: true });
  const opt = new SGD([{ params: [a], lr: 1 }, { params: [b] }], { lr: 0.5 });
  setGrad(a, [1, 1]);
  opt.step();
  assertEquals(await a.toArray(), [0, 1]);
  assertEquals(await b.toArray(), [3]);
  assertEquals(opt.paramGroups[1].lr, 0.5);
  assertEquals(opt.state.get(a)?.step, 1);
});

Deno.test("SGD() rejects invalid hyperparameters", () => {
  const p = [tensor([1], { backend: "cpu" })];
  assertThrows(() => new SGD(p, { lr: -1 }), RangeError, "lr is -1, expected a non-negative");
  assertThrows(() => new SGD(p, { nesterov: true }), RangeError, "nesterov needs momentum > 0");
  assertThrows(
    () => new SGD(p, { nesterov: true, momentum: 0.9, dampening: 0.1 }),
    RangeError,
    "dampening 0",
  );
  assertThrows(() => new SGD([{ params: p, momentum: -1 }]), RangeError, "momentum is -1");
});
