import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { tensor } from "../../creation.ts";
import { DeviceLostError } from "../../errors.ts";
import { backendOf, setBackend } from "../registry.ts";
import { testOnBackend } from "../../_testing/backends.ts";
import { bucketSize } from "./buffer_pool.ts";
import { getAdapter, type WebGpuBackend } from "./webgpu.ts";

const gpuTest = (name: string, fn: (gpu: WebGpuBackend) => Promise<void>) =>
  testOnBackend("webgpu", name, () => fn(backendOf("webgpu") as WebGpuBackend));

gpuTest("many ops batch into few submits; pipelines are cached by program key", async (gpu) => {
  let x = tensor([1, 2, 3]);
  x = x.add(1);
  await x.data();
  const before = gpu.stats;
  for (let i = 0; i < 300; i++) x = x.add(1);
  assertEquals(await x.toArray(), [302, 303, 304]);
  const after = gpu.stats;
  assertEquals(after.pipelines, before.pipelines, "no new pipelines for a repeated op");
  assert(
    after.submits - before.submits <= 4,
    `${after.submits - before.submits} submits for 300 ops`,
  );
});

gpuTest(
  "a tensor beyond maxStorageBufferBindingSize is refused before any work is queued",
  async (gpu) => {
    const limit = gpu.device.limits.maxStorageBufferBindingSize;
    const n = Math.floor(limit / 4) + 1;
    const x = tensor([1]);
    const before = gpu.stats.submits;
    assertThrows(() => x.expand([n]).contiguous(), RangeError, "maxStorageBufferBindingSize");
    assertEquals(gpu.stats.submits, before);
    assertEquals(await x.add(1).toArray(), [2]);
  },
);

gpuTest("device loss raises DeviceLostError, and setBackend starts a fresh device", async (gpu) => {
  const x = tensor([1, 2, 3]);
  gpu.device.destroy();
  await gpu.device.lost;
  assertThrows(() => x.add(1), DeviceLostError);
  await assertRejects(() => x.data(), DeviceLostError);
  await setBackend("webgpu");
  const fresh = backendOf("webgpu");
  assert(fresh !== gpu, "a new device after the loss");
  assertEquals(await tensor([1, 2]).mul(2).toArray(), [2, 4]);
});

Deno.test("pool buckets round sizes up to at most 12.5% waste and 16-byte multiples", () => {
  for (const bytes of [1, 15, 16, 17, 255, 1000, 65536, 70000, 1 << 20, 3_000_001]) {
    const b = bucketSize(bytes);
    assert(b >= bytes && b % 16 === 0, `${bytes} -> ${b}`);
    assert(bytes < 256 || b <= bytes * 1.125 + 256, `${bytes} -> ${b} wastes too much`);
  }
});

Deno.test("getAdapter() returns null when DENOFORMERS_WEBGPU=0 asks for a CPU-only run", async () => {
  const prev = Deno.env.get("DENOFORMERS_WEBGPU");
  Deno.env.set("DENOFORMERS_WEBGPU", "0");
  try {
    assertEquals(await getAdapter(), null);
  } finally {
    if (prev === undefined) Deno.env.delete("DENOFORMERS_WEBGPU");
    else Deno.env.set("DENOFORMERS_WEBGPU", prev);
  }
});
