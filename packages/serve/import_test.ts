// Deno Deploy has no WebGPU: importing this package, building a handler and answering requests
// must not touch any WebGPU global, and `chooseBackend("auto")` must pick the CPU there.
import { assertEquals } from "@std/assert";

const MOD = new URL("./mod.ts", import.meta.url).href;
const TINY = new URL("./_testing/tiny.ts", import.meta.url).href;

async function run(prelude: string, body: string): Promise<string> {
  const code = `${prelude}
const m = await import(${JSON.stringify(MOD)});
const t = await import(${JSON.stringify(TINY)});
${body}`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    cwd: new URL(".", import.meta.url).pathname,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`subprocess failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("serve: importing and serving touches no WebGPU global", async () => {
  const trap = `
for (const k of ["GPUBufferUsage", "GPUShaderStage", "GPUMapMode", "GPU", "GPUAdapter", "GPUDevice"]) {
  Object.defineProperty(globalThis, k, { get() { throw new Error("touched " + k); } });
}
Object.defineProperty(navigator, "gpu", { get() { throw new Error("touched navigator.gpu"); } });`;
  const out = await run(
    trap,
    `const h = m.createInferenceHandler({ pipelines: await t.tinyPipelines() });
const res = await h.fetch(new Request("http://x/v1/classify", { method: "POST", body: '{"inputs":"great"}' }));
console.log(res.status, (await h.fetch(new Request("http://x/health"))).status);`,
  );
  assertEquals(out, "200 200");
});

Deno.test("serve: chooseBackend('auto') picks the CPU where navigator.gpu is missing", async () => {
  const out = await run(
    `Object.defineProperty(navigator, "gpu", { value: undefined });`,
    `console.log(await m.chooseBackend("auto"));`,
  );
  assertEquals(out, "cpu");
});
