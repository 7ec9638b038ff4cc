/**
 * Runs `deno test` with the given arguments, streams its output, and ends with one line
 * `tests: N passed, N failed` parsed from Deno's own summary. Exits with Deno's exit code.
 *
 * Usage: `deno run -A scripts/test_summary.ts [deno test args…]`
 *
 * @module
 */

const child = new Deno.Command(Deno.execPath(), {
  args: ["test", ...Deno.args],
  env: { NO_COLOR: "1" },
  stdout: "piped",
  stderr: "piped",
}).spawn();

let summary = "";
async function pump(stream: ReadableStream<Uint8Array>, sink: typeof Deno.stdout): Promise<void> {
  const decoder = new TextDecoder();
  let carry = "";
  for await (const chunk of stream) {
    await sink.write(chunk);
    const text = carry + decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    carry = lines.pop() ?? "";
    for (const line of lines) if (/^(ok|FAILED) \| \d+ passed/.test(line)) summary = line;
  }
  if (/^(ok|FAILED) \| \d+ passed/.test(carry)) summary = carry;
}

await Promise.all([pump(child.stdout, Deno.stdout), pump(child.stderr, Deno.stderr)]);
let { code } = await child.status;
const passed = summary.match(/(\d+) passed/)?.[1];
const failed = summary.match(/(\d+) failed/)?.[1];
const ignored = summary.match(/(\d+) ignored/)?.[1] ?? "0";
if (passed === undefined || failed === undefined) {
  // Type errors, crashes and empty runs print no summary: count the run as one failure.
  console.log("\ntests: 0 passed, 1 failed");
  if (code === 0) code = 1;
} else {
  console.log(`\n(${ignored} ignored)`);
  console.log(`tests: ${passed} passed, ${failed} failed`);
}
Deno.exit(code);
