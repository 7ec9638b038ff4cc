import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { MicroBatcher, QueueFullError } from "./_batcher.ts";

const doubler = (calls: number[][]) => (items: number[]) => {
  calls.push(items);
  return Promise.resolve(items.map((x) => 2 * x));
};

Deno.test("batcher: concurrent submissions share one run, results in order", async () => {
  const calls: number[][] = [];
  const b = new MicroBatcher(doubler(calls), { maxBatchSize: 8, maxQueue: 100 });
  const results = await Promise.all([[1], [2, 3], [4]].map((xs) => b.submit(xs).result));
  assertEquals(results, [[2], [4, 6], [8]]);
  assertEquals(calls, [[1, 2, 3, 4]]);
  assertEquals([b.batches, b.items, b.queued], [1, 4, 0]);
  assertEquals(await b.submit([]).result, []);
});

Deno.test("batcher: maxBatchSize splits, groupKey separates", async () => {
  const calls: number[][] = [];
  const b = new MicroBatcher(doubler(calls), {
    maxBatchSize: 2,
    maxQueue: 100,
    groupKey: (x) => x % 2,
  });
  await Promise.all([1, 2, 3, 4, 5].map((x) => b.submit([x]).result));
  assertEquals(calls, [[1, 3], [2, 4], [5]]);
});

Deno.test("batcher: a full queue refuses, a cancelled request is skipped", async () => {
  const calls: number[][] = [];
  const b = new MicroBatcher(doubler(calls), { maxBatchSize: 8, maxQueue: 3 });
  const first = b.submit([1, 2]);
  assertThrows(() => b.submit([3, 4]), QueueFullError, "the queue is full (3 items waiting)");
  const second = b.submit([5]);
  first.cancel();
  assertEquals(await second.result, [10]);
  assertEquals(calls, [[5]]);
});

Deno.test("batcher: a failing run rejects its requests; later ones still run", async () => {
  let n = 0;
  const b = new MicroBatcher((items: number[]) => {
    if (n++ === 0) return Promise.reject(new Error("boom"));
    return Promise.resolve(items);
  }, { maxBatchSize: 1, maxQueue: 10 });
  const bad = b.submit([1]);
  const good = b.submit([2]);
  await assertRejects(() => bad.result, Error, "boom");
  assertEquals(await good.result, [2]);
});
