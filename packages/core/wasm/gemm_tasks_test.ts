// The tiling and the claiming protocol of the threaded GEMM, on the calling thread alone.
import { assert, assertEquals } from "@std/assert";
import { CONTROL, type GemmFn, gemmWorkerSource, planTiles, runGemmTasks } from "./gemm_tasks.ts";

/** The `[i0, j0, m, n]` tiles a plan cuts `m × n` into, in task order. */
function tiles(m: number, n: number, threads: number): number[][] {
  const plan = planTiles(m, n, threads);
  const ctl = new Int32Array(CONTROL.flags + CONTROL.maxTasks);
  const k = 3, ldc = n;
  ctl[CONTROL.a] = 1000, ctl[CONTROL.b] = 2000, ctl[CONTROL.c] = 3000;
  ctl[CONTROL.k] = k, ctl[CONTROL.ldc] = ldc, ctl[CONTROL.m] = m, ctl[CONTROL.n] = n;
  ctl[CONTROL.mt] = plan.mt, ctl[CONTROL.nt] = plan.nt, ctl[CONTROL.cols] = plan.cols;
  ctl[CONTROL.next] = plan.tasks << 16;
  const out: number[][] = [];
  const gemm: GemmFn = (a, b, c, tm, tn, tk, tldc, acc) => {
    const i0 = (a - 1000) / 4 / k, j0 = (b - 2000) / 4 / k;
    assertEquals([tk, tldc, acc], [k, ldc, 0]);
    assertEquals(c, 3000 + 4 * (i0 * ldc + j0), "C address");
    out.push([i0, j0, tm, tn]);
  };
  assertEquals(runGemmTasks(ctl, CONTROL, gemm), plan.tasks);
  assertEquals(ctl[CONTROL.done], plan.tasks);
  assertEquals(runGemmTasks(ctl, CONTROL, gemm), 0, "nothing left to claim");
  for (let t = 0; t < plan.tasks; t++) assertEquals(ctl[CONTROL.flags + t], 1);
  return out;
}

Deno.test("planTiles covers C exactly once in 4x8-aligned tiles, about four per thread", () => {
  for (const m of [4, 8, 128, 132, 1024]) {
    for (const n of [8, 16, 136, 768, 3072]) {
      for (const threads of [2, 3, 4, 16, 64]) {
        const cover = new Uint8Array(m * n);
        const list = tiles(m, n, threads);
        assert(list.length <= 4 * threads, `${list.length} tiles for ${threads} threads`);
        for (const [i0, j0, tm, tn] of list) {
          assert(i0 % 4 === 0 && j0 % 8 === 0 && tm % 4 === 0 && tn % 8 === 0 && tm > 0 && tn > 0);
          for (let i = i0; i < i0 + tm; i++) {
            for (let j = j0; j < j0 + tn; j++) cover[i * n + j]++;
          }
        }
        assert(cover.every((c) => c === 1), `${m}x${n}, ${threads} threads`);
      }
    }
  }
});

Deno.test("planTiles splits columns first and rows when the columns run out", () => {
  assertEquals(planTiles(1024, 1024, 2), { mt: 1024, nt: 128, cols: 8, tasks: 8 });
  assertEquals(planTiles(1024, 8, 2), { mt: 128, nt: 8, cols: 1, tasks: 8 });
  assertEquals(planTiles(4, 8, 4), { mt: 4, nt: 8, cols: 1, tasks: 1 });
  assertEquals(planTiles(128, 3072, 64, 100).tasks <= 100, true);
});

Deno.test("runGemmTasks claims nothing between jobs and reruns one tile on request", () => {
  const ctl = new Int32Array(CONTROL.flags + CONTROL.maxTasks);
  const calls: number[][] = [];
  const gemm: GemmFn = (...args) => void calls.push(args);
  assertEquals(runGemmTasks(ctl, CONTROL, gemm), 0);
  // A finished job (next = tasks) has nothing to claim.
  ctl[CONTROL.next] = (2 << 16) | 2;
  assertEquals(runGemmTasks(ctl, CONTROL, gemm), 0);
  // One tile run again (recovering a dead worker's claim) is not counted again.
  ctl[CONTROL.m] = 8, ctl[CONTROL.n] = 8, ctl[CONTROL.mt] = 4, ctl[CONTROL.nt] = 8;
  ctl[CONTROL.cols] = 1, ctl[CONTROL.k] = 2, ctl[CONTROL.ldc] = 8;
  assertEquals(runGemmTasks(ctl, CONTROL, gemm, 1), 1);
  assertEquals(calls, [[4 * 4 * 2, 0, 4 * 4 * 8, 4, 8, 2, 8, 0]]);
  assertEquals(ctl[CONTROL.done], 0);
});

Deno.test("the worker source is self-contained JavaScript", () => {
  const source = gemmWorkerSource();
  // Parses as a script and references nothing but its parameters and globals.
  new Function(source);
  assert(!source.includes("import "), "no imports");
  assert(source.endsWith(`, ${JSON.stringify(CONTROL)});\n`));
});
