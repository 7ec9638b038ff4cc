// Deno Deploy has no WebGPU: importing the package and running CPU work must not touch any WebGPU
// global, and picking the best backend must fall back to the CPU when `navigator.gpu` is missing.
import { assertEquals } from "@std/assert";

const MOD = new URL("./mod.ts", import.meta.url).href;

async function run(prelude: string, body: string): Promise<string> {
  const code = `${prelude}\nconst m = await import(${JSON.stringify(MOD)});\n${body}`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(`subprocess failed: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

Deno.test("importing the package and running CPU ops touches no WebGPU global", async () => {
  const trap = `
for (const k of ["GPUBufferUsage", "GPUShaderStage", "GPUMapMode", "GPU", "GPUAdapter", "GPUDevice"]) {
  Object.defineProperty(globalThis, k, { get() { throw new Error("touched " + k); } });
}
Object.defineProperty(navigator, "gpu", { get() { throw new Error("touched navigator.gpu"); } });`;
  const out = await run(
    trap,
    `console.log(JSON.stringify(await m.tensor([1, 2]).add(1).toArray()), m.getBackend());`,
  );
  assertEquals(out, "[2,3] cpu");
});

Deno.test("setBackend() falls back to the CPU where navigator.gpu is missing", async () => {
  const noGpu = `Object.defineProperty(navigator, "gpu", { value: undefined });`;
  const out = await run(
    noGpu,
    `console.log(await m.setBackend(), JSON.stringify(await m.availableBackends()), await m.tensor([3]).mul(2).item());`,
  );
  assertEquals(out, `cpu ["cpu"] 6`);
});
