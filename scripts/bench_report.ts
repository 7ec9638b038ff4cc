/**
 * Runs `deno bench --json` on the given bench files (default: every file in benches/), stores the
 * raw results under `benches/_results/`, and prints a markdown table per group with each row's
 * time, its ratio to the group's first denoformers row, and GFLOP/s for matmul groups.
 *
 * Usage: `deno run -A scripts/bench_report.ts [benches/matmul_bench.ts …]`
 *
 * @module
 */

interface BenchResult {
  group?: string;
  name: string;
  results: { ok?: { avg: number; min: number; max: number; n: number } }[];
}

const files = Deno.args.length ? Deno.args : ["benches/"];
const child = new Deno.Command(Deno.execPath(), {
  args: ["bench", "-A", "--no-check", "--json", ...files],
  env: { NO_COLOR: "1" },
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const out = new TextDecoder().decode((await child.output()).stdout);
const report = JSON.parse(out.slice(out.indexOf("{"))) as {
  cpu: string;
  runtime: string;
  benches: BenchResult[];
};

const adapter = await (async () => {
  const a = await (globalThis.navigator as { gpu?: GPU }).gpu?.requestAdapter();
  return a
    ? `${a.info.description || a.info.vendor} (fallback: ${a.info.isFallbackAdapter})`
    : "none";
})();
const date = new Date().toISOString().slice(0, 10);
await Deno.mkdir("benches/_results", { recursive: true });
const path = `benches/_results/${date}-${Deno.build.os}-${Deno.build.arch}.json`;
await Deno.writeTextFile(path, JSON.stringify({ date, adapter, ...report }, null, 2) + "\n");

console.log(
  `date ${date}; cpu ${report.cpu}; runtime ${report.runtime}; WebGPU adapter ${adapter}`,
);
const groups = new Map<string, BenchResult[]>();
for (const b of report.benches) {
  groups.set(b.group ?? "", [...(groups.get(b.group ?? "") ?? []), b]);
}
for (const [group, rows] of groups) {
  const n = Number(group.match(/^matmul N=(\d+)/)?.[1] ?? NaN);
  console.log(`\n### ${group}\n`);
  console.log(
    `| library | ms (avg) | ${Number.isNaN(n) ? "" : "GFLOP/s | "}vs denoformers ${
      rows[0].name.split(" ")[1]
    } |`,
  );
  console.log(`| --- | --- | ${Number.isNaN(n) ? "" : "--- | "}--- |`);
  const base = rows[0].results[0].ok?.avg ?? NaN;
  for (const r of rows) {
    const ok = r.results[0].ok;
    if (!ok) {
      console.log(`| ${r.name} | failed | |`);
      continue;
    }
    const ms = ok.avg / 1e6;
    const gflops = Number.isNaN(n) ? "" : `${(2 * n ** 3 / ok.avg).toFixed(2)} | `;
    console.log(`| ${r.name} | ${ms.toFixed(2)} | ${gflops}${(ok.avg / base).toFixed(2)}× time |`);
  }
}
console.log(`\nraw results: ${path}`);
