import { assert, assertThrows } from "@std/assert";
import {
  grad,
  Linear,
  manualSeed,
  memory,
  noGrad,
  randn,
  resetPeakMemory,
  type Tensor,
  tidy,
  zeros,
} from "@denoformers/core";
import { assertAllClose, testBackends } from "@denoformers/core/testing";
import { applyChunkingToForward } from "./apply_chunking_to_forward.ts";

testBackends("chunking equals the unchunked call, values and gradients", async () => {
  manualSeed(1);
  const fc1 = new Linear(8, 32);
  const fc2 = new Linear(32, 8);
  const ff = (h: Tensor) => fc2.call(fc1.call(h).gelu());
  const x = randn([2, 16, 8]).requiresGrad_();
  const whole = ff(x);
  const chunked = applyChunkingToForward(ff, 4, 1, x);
  assertAllClose(await chunked.data(), await whole.data(), { atol: 1e-6 });
  const [gWhole, wWhole] = grad(whole.sum(), [x, fc1.weight]);
  const [gChunk, wChunk] = grad(chunked.sum(), [x, fc1.weight]);
  assertAllClose(await gChunk!.data(), await gWhole!.data(), { atol: 1e-5 });
  assertAllClose(await wChunk!.data(), await wWhole!.data(), { atol: 1e-4 });
  const two = applyChunkingToForward((a: Tensor, b: Tensor) => a.add(b), 8, 1, x, x);
  assertAllClose(await two.data(), await x.mul(2).data());
  assert(applyChunkingToForward(ff, 0, 1, x).shape.length === 3, "chunkSize 0 is a plain call");
});

testBackends("chunking checks follow hf-behaviour §3.6", () => {
  const x = zeros([1, 10, 4]);
  assertThrows(
    () => applyChunkingToForward((a: Tensor) => a, 2, 1),
    RangeError,
    "no input tensors",
  );
  assertThrows(
    () => applyChunkingToForward((a: Tensor) => a, 2, 1, x, x),
    RangeError,
    "forward_chunk_fn expects 1 arguments, but only 2 input tensors are given",
  );
  assertThrows(
    () => applyChunkingToForward((a: Tensor, b: Tensor) => a.add(b), 2, 1, x, zeros([1, 8, 4])),
    RangeError,
    "all input tensors have to be of the same shape: 10, found shape 8",
  );
  assertThrows(
    () => applyChunkingToForward((a: Tensor) => a, 4, 1, x),
    RangeError,
    "the dimension to be chunked 10 has to be a multiple of the chunk size 4",
  );
});

testBackends("chunking a feed-forward block at sequence 512 lowers peak memory", (b) => {
  manualSeed(2);
  const hidden = 64;
  const fc1 = new Linear(hidden, 4 * hidden);
  const fc2 = new Linear(4 * hidden, hidden);
  const ff = (h: Tensor) => fc2.call(fc1.call(h).gelu());
  const x = randn([1, 512, hidden]);
  const peakOf = (chunk: number) =>
    noGrad(() =>
      tidy(() => {
        const base = memory(b).liveBytes;
        resetPeakMemory(b);
        applyChunkingToForward(ff, chunk, 1, x);
        return memory(b).peakBytes - base;
      })
    );
  const whole = peakOf(0);
  const chunked = peakOf(64);
  console.log(
    `feed-forward [1, 512, ${hidden}] peak bytes on ${b}: unchunked ${whole}, chunk 64 ${chunked}`,
  );
  assert(chunked < whole / 2, `chunked peak ${chunked} vs unchunked ${whole}`);
});
