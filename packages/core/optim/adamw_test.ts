import { assertEquals, assertThrows } from "@std/assert";
import { tensor } from "../creation.ts";
import { assertAllClose, testBackends } from "../_testing/backends.ts";
import { runSteps, setGrad } from "../_testing/optim_steps.ts";
import { AdamW, type AdamWOptions } from "./adamw.ts";

const P0 = [1, -2, 0.5];
// A large first gradient then small ones, so the AMSGrad maximum differs from v.
const GRADS = [[0.1, -0.2, 3], [0.5, 0.4, -0.1], [-0.3, 0.2, 0.05]];

/** torch.optim.AdamW's documented update, in plain float64 JS. */
function adamwReference(o: AdamWOptions): number[][] {
  const [b1, b2] = o.betas;
  let p = [...P0];
  let m = [0, 0, 0];
  let v = [0, 0, 0];
  let vMax = [0, 0, 0];
  return GRADS.map((grad, k) => {
    const t = k + 1;
    const g = grad.map((x) => (o.maximize ? -x : x));
    p = p.map((x) => x * (1 - o.lr * o.weightDecay));
    m = m.map((x, i) => b1 * x + (1 - b1) * g[i]);
    v = v.map((x, i) => b2 * x + (1 - b2) * g[i] * g[i]);
    vMax = vMax.map((x, i) => Math.max(x, v[i]));
    const vHat = o.amsgrad ? vMax : v;
    const stepSize = o.lr / (1 - b1 ** t);
    p = p.map((x, i) =>
      x - stepSize * m[i] / (Math.sqrt(vHat[i]) / Math.sqrt(1 - b2 ** t) + o.eps)
    );
    return p;
  });
}

const run = (options: AdamWOptions): Promise<number[][]> =>
  runSteps((params) => new AdamW(params, options), P0, GRADS);

const BASE: AdamWOptions = {
  lr: 0.01,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weightDecay: 0.1,
  amsgrad: false,
  maximize: false,
};

testBackends("AdamW() with decoupled weight decay follows torch for 3 steps", async () => {
  const got = await run(BASE);
  // Step 1 by hand: p = 1·(1 - 0.001) = 0.999; m̂ = 0.1, sqrt(v̂) = 0.1, so p = 0.999 - 0.01.
  assertAllClose([got[0][0]], [0.989], { rtol: 1e-6 });
  const expected = adamwReference(BASE);
  got.forEach((row, i) => assertAllClose(row, expected[i], { rtol: 1e-6, label: `step ${i + 1}` }));
});

testBackends("AdamW() with amsgrad, maximize and other betas follows torch", async () => {
  const cases: AdamWOptions[] = [
    { ...BASE, amsgrad: true },
    { ...BASE, amsgrad: true, betas: [0.9, 0.5] },
    { ...BASE, betas: [0.5, 0.9], eps: 1e-3, weightDecay: 0, maximize: true, lr: 0.1 },
  ];
  for (const o of cases) {
    const got = await run(o);
    const expected = adamwReference(o);
    got.forEach((row, i) =>
      assertAllClose(row, expected[i], { rtol: 1e-6, label: `${JSON.stringify(o)} ${i + 1}` })
    );
  }
  // The amsgrad maximum really differs from v here (element 2 after its large first gradient, β2 = 0.5).
  const plain = adamwReference({ ...BASE, betas: [0.9, 0.5] })[2][2];
  const ams = adamwReference({ ...BASE, amsgrad: true, betas: [0.9, 0.5] })[2][2];
  assertEquals(Math.abs(plain - ams) > 1e-4, true);
});

testBackends("AdamW() keeps state tensors named like torch's, on the parameter's backend", (b) => {
  const p = tensor([1, 2], { requiresGrad: true });
  const opt = new AdamW([p], { amsgrad: true });
  setGrad(p, [1, 1]);
  opt.step();
  const s = opt.state.get(p)!;
  assertEquals([...s.tensors.keys()].sort(), ["expAvg", "expAvgSq", "maxExpAvgSq"]);
  assertEquals([...s.tensors.values()].map((t) => t.backend), [b, b, b]);
  opt.dispose();
});

Deno.test("AdamW() rejects invalid hyperparameters", () => {
  const p = [tensor([1], { backend: "cpu" })];
  assertThrows(() => new AdamW(p, { betas: [0.9, 1] }), RangeError, "betas[1] is 1");
  assertThrows(() => new AdamW(p, { eps: -1 }), RangeError, "eps is -1");
  assertThrows(() => new AdamW(p, { weightDecay: -0.1 }), RangeError, "weightDecay is -0.1");
});
