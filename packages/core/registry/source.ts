/**
 * Reading files of a pretrained checkpoint from a local directory or an http(s) base URL.
 *
 * @module
 */

/**
 * Whether `location` is an http(s) URL rather than a local path.
 *
 * @param location A path or URL.
 * @returns `true` for URLs.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { isRemote } from "./source.ts";
 *
 * assert(isRemote("https://example.com/model") && !isRemote("./model"));
 * ```
 */
export function isRemote(location: string | URL): boolean {
  return /^https?:/.test(String(location));
}

/**
 * The location of `file` inside a checkpoint directory or under a base URL.
 *
 * @param location Directory path or base URL.
 * @param file File name.
 * @returns Path or URL string.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { childOf } from "./source.ts";
 *
 * assertEquals(childOf("https://h/m", "config.json"), "https://h/m/config.json");
 * assertEquals(childOf("/tmp/m/", "config.json"), "/tmp/m/config.json");
 * ```
 */
export function childOf(location: string | URL, file: string): string {
  const base = String(location).replace(/\/+$/, "");
  return `${base}/${file}`;
}

/**
 * Reads and parses a JSON file of a checkpoint.
 *
 * @param location Directory path or base URL.
 * @param file File name.
 * @returns The parsed JSON.
 * @throws {Error} Naming the file when it is missing or not JSON.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readJson } from "./source.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.json`, '{"x": 1}');
 * assertEquals(await readJson(dir, "a.json"), { x: 1 });
 * ```
 */
export async function readJson(location: string | URL, file: string): Promise<unknown> {
  const where = childOf(location, file);
  let text: string;
  try {
    if (isRemote(location)) {
      const res = await fetch(where);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      text = await res.text();
    } else {
      text = await Deno.readTextFile(where);
    }
  } catch (e) {
    throw new Error(`Cannot read "${where}": ${e instanceof Error ? e.message : e}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`Cannot parse "${where}" as JSON: ${e instanceof Error ? e.message : e}`);
  }
}
