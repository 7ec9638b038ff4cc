/**
 * Reading the files of a model folder from a local directory or an http(s) base URL.
 *
 * @module
 */

/** Whether `location` is an http(s) URL. */
export function isRemote(location: string | URL): boolean {
  return /^https?:/i.test(String(location));
}

/** The location of `file` inside a folder or under a base URL. */
export function childOf(location: string | URL, file: string): string {
  return `${String(location).replace(/\/+$/, "")}/${file}`;
}

/**
 * Reads a text file of a model folder.
 *
 * @param location Directory or base URL.
 * @param file File name.
 * @param optional Return `null` instead of throwing when the file does not exist.
 * @returns The text, or `null`.
 * @throws {Error} Naming the file when it cannot be read.
 */
export async function readText(
  location: string | URL,
  file: string,
  optional = false,
): Promise<string | null> {
  const where = childOf(location, file);
  try {
    if (isRemote(location)) {
      const res = await fetch(where);
      if (res.status === 404 && optional) {
        await res.body?.cancel();
        return null;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status}`);
      }
      return await res.text();
    }
    return await Deno.readTextFile(where);
  } catch (e) {
    if (optional && e instanceof Deno.errors.NotFound) return null;
    throw new Error(`Cannot read "${where}": ${e instanceof Error ? e.message : e}`);
  }
}

/**
 * Reads and parses a JSON file of a model folder.
 *
 * @param location Directory or base URL.
 * @param file File name.
 * @param optional Return `null` when the file does not exist.
 * @returns The parsed value, or `null`.
 * @throws {Error} When the file cannot be read or is not JSON.
 */
export async function readJsonFile(
  location: string | URL,
  file: string,
  optional = false,
): Promise<unknown> {
  const text = await readText(location, file, optional);
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(
      `Cannot parse "${childOf(location, file)}": ${e instanceof Error ? e.message : e}`,
    );
  }
}
