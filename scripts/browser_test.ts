/**
 * End-to-end browser test: bundles `examples/browser/main.ts`, serves it from 127.0.0.1, opens it
 * in headless Chromium (driven over the DevTools protocol, no extra dependencies), waits for
 * `window.__result` and checks it. Prints `browser test: ok` and exits 0, or the failure and 1.
 *
 * Usage: `deno task test:browser` (needs `/usr/bin/chromium`, or set `CHROMIUM`). With
 * `BROWSER_TEST_WEBGPU=1` Chromium gets SwiftShader's software WebGPU instead of `--disable-gpu`,
 * and the page's WebGPU run is checked against the CPU one.
 *
 * @module
 */

import { bundle } from "./bundle.ts";

const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const TIMEOUT_MS = 60_000;
const GPU_FLAGS = Deno.env.get("BROWSER_TEST_WEBGPU") === "1"
  ? [
    "--enable-unsafe-webgpu",
    "--enable-features=Vulkan",
    "--use-angle=swiftshader",
    "--use-webgpu-adapter=swiftshader",
  ]
  : ["--disable-gpu"];

/** The JSON `examples/browser/main.ts` publishes. */
interface RunResult {
  backend: string;
  shape: number[];
  checksum: number;
}

function check(result: unknown): string[] {
  const errors: string[] = [];
  const r = result as { ok?: boolean; error?: string; cpu?: RunResult; webgpu?: unknown };
  if (!r || r.ok !== true) return [`page reported failure: ${r?.error ?? JSON.stringify(r)}`];
  const cpu = r.cpu;
  if (!cpu || JSON.stringify(cpu.shape) !== "[2,3]") {
    errors.push(`cpu logits shape ${JSON.stringify(cpu?.shape)}, expected [2,3]`);
  }
  if (!cpu || !Number.isFinite(cpu.checksum)) errors.push(`cpu checksum not finite`);
  const gpu = r.webgpu as (RunResult & { error?: string }) | null | undefined;
  if (gpu && gpu.error === undefined && cpu) {
    if (JSON.stringify(gpu.shape) !== "[2,3]") errors.push(`webgpu logits shape ${gpu.shape}`);
    if (!(Math.abs(gpu.checksum - cpu.checksum) <= 1e-3 * Math.max(1, Math.abs(cpu.checksum)))) {
      errors.push(`webgpu checksum ${gpu.checksum} != cpu ${cpu.checksum}`);
    }
  }
  return errors;
}

async function readDevToolsUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`chromium exited before DevTools was ready:\n${text}`);
    text += value;
    const m = text.match(/DevTools listening on (ws:\/\/\S+)/);
    if (m) {
      // Keep draining stderr so chromium never blocks on a full pipe.
      (async () => {
        while (!(await reader.read()).done) { /* discard */ }
      })().catch(() => {});
      return m[1];
    }
  }
}

/** A minimal DevTools-protocol client over one WebSocket. */
class Cdp {
  #ws: WebSocket;
  #id = 0;
  #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  readonly events: { method: string; params: Record<string, unknown> }[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(JSON.stringify(msg.error)));
        else p?.resolve(msg.result);
      } else {
        this.events.push(msg);
      }
    };
  }

  static connect(url: string): Promise<Cdp> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(new Cdp(ws));
      ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.#ws.close();
  }
}

async function main(): Promise<string[]> {
  await bundle("examples/browser/main.ts", "dist/browser.js");
  const files: Record<string, [string, string]> = {
    "/": ["examples/browser/index.html", "text/html; charset=utf-8"],
    "/index.html": ["examples/browser/index.html", "text/html; charset=utf-8"],
    "/browser.js": ["dist/browser.js", "text/javascript; charset=utf-8"],
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const file = files[new URL(req.url).pathname];
    if (!file) return new Response("not found", { status: 404 });
    return new Response(await Deno.readFile(file[0]), { headers: { "content-type": file[1] } });
  });
  const pageUrl = `http://127.0.0.1:${server.addr.port}/`;
  const profile = await Deno.makeTempDir({ prefix: "denoformers-chromium-" });
  const child = new Deno.Command(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox",
      ...GPU_FLAGS,
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      `--user-data-dir=${profile}`,
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let cdp: Cdp | undefined;
  try {
    const browserWs = await readDevToolsUrl(child.stderr);
    const port = new URL(browserWs).port;
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const page = targets.find((t) => t.type === "page");
    if (!page) throw new Error("chromium has no page target");
    cdp = await Cdp.connect(page.webSocketDebuggerUrl);
    await cdp.send("Runtime.enable");
    await cdp.send("Page.enable");
    await cdp.send("Page.navigate", { url: pageUrl });
    const deadline = Date.now() + TIMEOUT_MS;
    while (Date.now() < deadline) {
      const { result } = await cdp.send("Runtime.evaluate", {
        expression: "window.__result === undefined ? null : JSON.stringify(window.__result)",
        returnByValue: true,
      }) as { result: { value: string | null } };
      if (result.value) {
        const parsed = JSON.parse(result.value);
        console.error(`result: ${result.value}`);
        return check(parsed);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const logs = cdp.events
      .filter((e) =>
        e.method === "Runtime.exceptionThrown" || e.method === "Runtime.consoleAPICalled"
      )
      .map((e) => JSON.stringify(e.params).slice(0, 500));
    return [`timed out after ${TIMEOUT_MS} ms waiting for window.__result`, ...logs];
  } finally {
    cdp?.close();
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await server.shutdown();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  let errors: string[];
  try {
    errors = await main();
  } catch (e) {
    errors = [e instanceof Error ? e.stack ?? e.message : String(e)];
  }
  if (errors.length === 0) {
    console.log("browser test: ok");
    Deno.exit(0);
  }
  console.log(`browser test: FAILED\n${errors.join("\n")}`);
  Deno.exit(1);
}
