import { assert, assertEquals } from "@std/assert";
import { ones, rand, randn } from "./creation.ts";
import { getRngState, manualSeed, setRngState } from "./rng.ts";
import { setBackend } from "./backends/registry.ts";
import { assertAllClose, testBackends, webgpuAvailable } from "./_testing/backends.ts";
import type { BackendName } from "./backends/backend.ts";

/** The same call sequence on one backend: uniform draws, a dropout mask, normals. */
async function draws(backend: BackendName, seed: number) {
  manualSeed(seed);
  const u = await rand([1001], { backend }).data();
  const mask = await ones([3, 333], { backend }).dropout(0.3).data();
  const n = await randn([517], { backend }).data();
  const u2 = await rand([7], { backend }).data();
  return { u, mask, n, u2 };
}

Deno.test({
  name: "rand and dropout masks are bit-identical on cpu and webgpu; randn within 1e-6",
  ignore: !webgpuAvailable,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await setBackend("webgpu");
    await setBackend("cpu");
    for (const seed of [0, 42, 2 ** 40 + 3]) {
      const cpu = await draws("cpu", seed);
      const gpu = await draws("webgpu", seed);
      assertEquals(gpu.u, cpu.u, `rand, seed ${seed}`);
      assertEquals(gpu.mask, cpu.mask, `dropout mask, seed ${seed}`);
      assertEquals(gpu.u2, cpu.u2, `rand after other draws, seed ${seed}`);
      assertAllClose(gpu.n, cpu.n, { rtol: 1e-6, atol: 1e-6, label: `randn, seed ${seed}` });
    }
  },
});

testBackends("setRngState replays draws exactly", async () => {
  manualSeed(7);
  rand([10]);
  const state = getRngState();
  const a = await rand([33]).data();
  const m = await ones([50]).dropout(0.5).data();
  const z = await randn([9]).data();
  setRngState(state);
  assertEquals(await rand([33]).data(), a);
  assertEquals(await ones([50]).dropout(0.5).data(), m);
  assertEquals(await randn([9]).data(), z);
  assertEquals(getRngState().seed, 7);
});

testBackends("random draws have the expected distribution", async () => {
  manualSeed(3);
  const u = Array.from(await rand([20000]).data());
  const mean = u.reduce((s, v) => s + v, 0) / u.length;
  assert(Math.abs(mean - 0.5) < 0.01, `uniform mean ${mean}`);
  assert(u.every((v) => v >= 0 && v < 1));
  const n = Array.from(await randn([20000]).data());
  const nm = n.reduce((s, v) => s + v, 0) / n.length;
  const nv = n.reduce((s, v) => s + (v - nm) ** 2, 0) / n.length;
  assert(Math.abs(nm) < 0.03 && Math.abs(nv - 1) < 0.05, `normal mean ${nm}, variance ${nv}`);
  const kept = Array.from(await ones([20000]).dropout(0.25).data()).filter((v) => v !== 0);
  assert(Math.abs(kept.length / 20000 - 0.75) < 0.015, `dropout keep rate ${kept.length / 20000}`);
  assert(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6), "kept values are scaled by 1 / (1 - p)");
});

Deno.test("manualSeed rejects values that are not safe non-negative integers", () => {
  for (const bad of [-1, 1.5, 2 ** 53]) {
    let threw = false;
    try {
      manualSeed(bad);
    } catch (e) {
      threw = e instanceof RangeError && String(e.message).includes(String(bad));
    }
    assert(threw, `manualSeed(${bad})`);
  }
});
