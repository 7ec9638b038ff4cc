import { assert, assertEquals, assertThrows } from "@std/assert";
import { grad } from "./autograd.ts";
import { tensor } from "./creation.ts";
import { isGradEnabled, noGrad } from "./grad_mode.ts";
import { tidy } from "./memory.ts";
import { assertAllClose, testBackends } from "./_testing/backends.ts";

testBackends("backward accumulates into .grad across calls", async () => {
  const w = tensor([1, 2, 3], { requiresGrad: true });
  w.mul(w).sum().backward();
  w.mul(2).sum().backward();
  assertEquals(await w.grad!.toArray(), [4, 6, 8]);
});

testBackends("broadcast gradients are summed back to the input shape", async () => {
  const a = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
  const b = tensor([10, 20, 30], { requiresGrad: true });
  const s = tensor(2, { requiresGrad: true });
  a.mul(b).mul(s).sum().backward();
  assertEquals(await b.grad!.toArray(), [10, 14, 18]);
  assertEquals(await s.grad!.item(), 1 * 10 + 2 * 20 + 3 * 30 + 4 * 10 + 5 * 20 + 6 * 30);
  assertEquals(b.grad!.shape, [3]);
  assertEquals(s.grad!.shape, []);
});

testBackends("a tensor used twice gets both contributions", async () => {
  const x = tensor([3], { requiresGrad: true });
  const y = x.add(x).mul(x); // 2x², dy/dx = 4x
  y.sum().backward();
  assertEquals(await x.grad!.toArray(), [12]);
});

testBackends("backward needs a gradient for non-scalars and refuses a freed graph", async () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const y = x.mul(3);
  assertThrows(() => y.backward(), RangeError, "without a gradient");
  y.backward(tensor([1, 1]));
  assertThrows(() => y.backward(tensor([1, 1])), Error, "second time");
  const z = x.mul(x);
  z.sum().backward(undefined, { retainGraph: true });
  z.sum().backward(undefined, { retainGraph: true });
  assertEquals(await x.grad!.toArray(), [3 + 4, 3 + 8]);
});

testBackends(
  "grad() returns gradients without touching .grad; createGraph gives second order",
  async () => {
    const x = tensor([2], { requiresGrad: true });
    const y = x.mul(x).mul(x); // x³
    const [dy] = grad(y.sum(), [x], { createGraph: true }); // 3x² = 12
    assertEquals(await dy!.toArray(), [12]);
    assertEquals(x.grad, null);
    const [d2y] = grad(dy!.sum(), [x]); // 6x = 12
    assertEquals(await d2y!.toArray(), [12]);
    const unused = tensor([1], { requiresGrad: true });
    assertThrows(() => grad(x.mul(2).sum(), [unused]), Error, "do not depend");
    assertEquals(grad(x.mul(2).sum(), [unused], { allowUnused: true }), [null]);
  },
);

testBackends("noGrad and detach cut the graph", async () => {
  const x = tensor([1, 2], { requiresGrad: true });
  assert(isGradEnabled());
  const y = noGrad(() => x.mul(2));
  assert(!y.requiresGrad && y.node === null);
  const d = x.detach();
  assert(!d.requiresGrad);
  assertThrows(() => d.sum().backward(), Error, "does not require grad");
  const z = x.mul(d).sum(); // gradient only through the first factor
  z.backward();
  assertEquals(await x.grad!.toArray(), [1, 2]);
});

testBackends("gradients flow through composites (softmax cross-entropy)", async () => {
  const logits = tensor([[1, 2, 3], [1, 1, 1]], { requiresGrad: true });
  const target = tensor([[0, 0, 1], [1, 0, 0]]);
  tidy(() => logits.logSoftmax(-1).mul(target).sum().neg().div(2).backward());
  const p = await logits.softmax(-1).data();
  const expected = Array.from(p, (v, i) => (v - [0, 0, 1, 1, 0, 0][i]) / 2);
  assertAllClose(await logits.grad!.data(), expected);
});

testBackends("backward after an input was disposed names the op", () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const h = x.mul(2);
  const y = h.exp().sum();
  h.dispose();
  assertThrows(() => y.backward(), Error, "disposed before backward");
});
