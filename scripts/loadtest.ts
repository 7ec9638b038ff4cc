/**
 * A bounded load test of the inference server: starts `examples/serve.ts` on a free port (or
 * uses `--url`), warms it up, then sends `--requests` requests with `--concurrency` in flight,
 * mixing every route the server offers. Reports status counts, latency percentiles, throughput,
 * forward passes, and the server's live tensors, RSS and JS heap (after a GC when the server runs
 * with `--v8-flags=--expose-gc`, as it does when started here) after warm-up and after the load.
 * Exits with 1 on any server error (5xx), a change in live tensors, or growth of the heap by more
 * than 10% or of RSS by more than 15%.
 *
 * Run: `deno task loadtest` (options: `--model DIR` (default `demo_out`), `--url URL`,
 * `--requests 2000`, `--concurrency 32`, `--warmup 2000`).
 *
 * @module
 */

import { nerData, qaData, sentimentData } from "../examples/_demo_data.ts";

function flag(name: string, fallback: string): string {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 && Deno.args[at + 1] ? Deno.args[at + 1] : fallback;
}

const requests = Number(flag("requests", "2000"));
const concurrency = Number(flag("concurrency", "32"));
const warmup = Number(flag("warmup", "2000"));
let url = flag("url", "");
let server: Deno.ChildProcess | undefined;

if (!url) {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const script = new URL("../examples/serve.ts", import.meta.url).pathname;
  server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      script,
      "--model",
      flag("model", "demo_out"),
      "--port",
      String(port),
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  url = `http://127.0.0.1:${port}`;
}

type Health = {
  batches: number;
  sequences: number;
  memory: {
    liveTensors: number;
    liveBytes: number;
    rssBytes: number | null;
    heapUsedBytes: number | null;
  };
};
async function health(): Promise<Health> {
  const res = await fetch(`${url}/health`);
  if (!res.ok) throw new Error(`Cannot read /health: HTTP ${res.status}`);
  return await res.json();
}
for (let i = 0;; i++) {
  try {
    await health();
    break;
  } catch (e) {
    if (i > 600) throw e;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const info = await (await fetch(`${url}/info`)).json() as { models: { route: string }[] };
const routes = info.models.map((m) => m.route);
const sentences = sentimentData(200, 101).map((e) => e.text);
const tagged = nerData(200, 102).map((e) => e.text);
const questions = qaData(200, 103);
const STRATEGIES = ["none", "simple", "first", "average", "max"];

/** The i-th request: routes in turn, payloads varied in size. */
function payload(i: number): [string, unknown] {
  const route = routes[i % routes.length];
  const k = Math.floor(i / routes.length);
  if (route === "/v1/classify") {
    const n = 1 + (k % 4);
    return [route, {
      inputs: n === 1 ? sentences[k % 200] : sentences.slice(k % 190, (k % 190) + n),
    }];
  }
  if (route === "/v1/tokens") {
    return [route, {
      inputs: tagged[k % 200],
      parameters: { aggregation_strategy: STRATEGIES[k % 5] },
    }];
  }
  const q = questions[k % 200];
  return [route, { question: q.question, context: q.context }];
}

async function run(count: number, offset: number) {
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < count) {
      const [route, body] = payload(offset + next++);
      const t = performance.now();
      const res = await fetch(`${url}${route}`, { method: "POST", body: JSON.stringify(body) });
      await res.arrayBuffer();
      latencies.push(performance.now() - t);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, statuses, seconds: (performance.now() - start) / 1000 };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const mb = (b: number | null) => (b === null ? "n/a" : `${(b / 2 ** 20).toFixed(1)} MB`);

let failed = false;
try {
  await run(warmup, 0);
  await new Promise((r) => setTimeout(r, 500));
  const before = await health();
  const { latencies, statuses, seconds } = await run(requests, warmup);
  await new Promise((r) => setTimeout(r, 500));
  const after = await health();
  const serverErrors = Object.entries(statuses).filter(([s]) => Number(s) >= 500)
    .reduce((n, [, c]) => n + c, 0);
  const passes = after.batches - before.batches;
  const rssDelta = after.memory.rssBytes !== null && before.memory.rssBytes !== null
    ? (after.memory.rssBytes - before.memory.rssBytes) / before.memory.rssBytes
    : 0;
  console.log(
    `\nload test: ${requests} requests, concurrency ${concurrency}, routes ${routes.join(" ")}`,
  );
  console.log(`  statuses     ${JSON.stringify(statuses)}; server errors ${serverErrors}`);
  console.log(
    `  latency      p50 ${pct(latencies, 50).toFixed(1)} ms, p95 ${
      pct(latencies, 95).toFixed(1)
    } ms,` +
      ` p99 ${pct(latencies, 99).toFixed(1)} ms`,
  );
  console.log(
    `  throughput   ${(requests / seconds).toFixed(1)} requests/s (${seconds.toFixed(1)} s)`,
  );
  console.log(
    `  batching     ${after.sequences - before.sequences} sequences in ${passes} forward passes` +
      ` (${((after.sequences - before.sequences) / passes).toFixed(1)} per pass)`,
  );
  console.log(
    `  live tensors ${before.memory.liveTensors} after warm-up, ${after.memory.liveTensors} after` +
      ` the load (${mb(before.memory.liveBytes)} -> ${mb(after.memory.liveBytes)})`,
  );
  console.log(
    `  server RSS   ${mb(before.memory.rssBytes)} after warm-up, ${
      mb(after.memory.rssBytes)
    } after` +
      ` the load (${(100 * rssDelta).toFixed(1)}%)`,
  );
  console.log(
    `  server heap  ${mb(before.memory.heapUsedBytes)} after warm-up, ${
      mb(after.memory.heapUsedBytes)
    } after the load`,
  );
  const grew = (a: number | null, b: number | null, limit: number) =>
    a !== null && b !== null && (b - a) / a > limit;
  failed = serverErrors > 0 || after.memory.liveTensors !== before.memory.liveTensors ||
    grew(before.memory.heapUsedBytes, after.memory.heapUsedBytes, 0.1) ||
    grew(before.memory.rssBytes, after.memory.rssBytes, 0.15);
  console.log(failed ? "FAILED" : "ok: no server errors; live tensors unchanged; memory flat");
} finally {
  server?.kill("SIGTERM");
  await server?.status;
}
Deno.exit(failed ? 1 : 0);
