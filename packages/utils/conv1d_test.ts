import { assert, assertEquals } from "@std/assert";
import { manualSeed, tensor, zeros } from "@denoformers/core";
import { assertAllClose, testBackends } from "@denoformers/core/testing";
import { Conv1D } from "./conv1d.ts";

testBackends(
  "Conv1D stores its weight [nx, nf], initialises N(0, 0.02) and zero bias",
  async () => {
    manualSeed(0);
    const c = new Conv1D(64, 48);
    assertEquals([c.weight.shape, c.bias.shape, c.nf, c.nx], [[48, 64], [64], 64, 48]);
    const w = Array.from(await c.weight.data());
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    assert(Math.abs(std - 0.02) < 0.002, `std ${std}`);
    assertEquals(new Set(await c.bias.data()), new Set([0]));
    assertEquals(Object.keys(c.stateDict()), ["weight", "bias"]);
    assertEquals(String(c), "Conv1D(nf=64, nx=48)");
  },
);

testBackends(
  "Conv1D computes x·W + b on any leading shape, like Linear with a transposed weight",
  async () => {
    const c = new Conv1D(3, 2);
    c.loadStateDict({ weight: tensor([[1, 0, -1], [2, 1, 0]]), bias: tensor([0.5, 0, -0.5]) });
    const x = tensor([[[1, 2]], [[0, -1]]]);
    assertAllClose(await c.call(x).data(), [5.5, 2, -1.5, -1.5, -1, -0.5]);
    assertEquals(c.call(zeros([4, 5, 6, 2])).shape, [4, 5, 6, 3]);
  },
);
