/**
 * JSON responses, HTTP errors and a size-capped body reader.
 *
 * @module
 */

/** An error that becomes a JSON response `{ "error": message }` with `status`. */
export class HttpError extends Error {
  /**
   * @param status HTTP status.
   * @param message The message sent to the client.
   * @param headers Extra response headers.
   */
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** A JSON response. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** The JSON error response of an `HttpError`. */
export function errorResponse(e: HttpError): Response {
  return json({ error: e.message }, e.status, e.headers);
}

/**
 * Reads a request body of at most `maxBytes` bytes and parses it as JSON.
 *
 * @param request The request.
 * @param maxBytes The limit.
 * @returns The parsed value.
 * @throws {HttpError} 413 over the limit, 400 for an empty body, bad UTF-8 or bad JSON.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const tooLarge = () =>
    new HttpError(413, `Cannot read request body: it exceeds the limit of ${maxBytes} bytes`);
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  if (size === 0) throw new HttpError(400, "Cannot parse request body: it is empty");
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) (bytes.set(c, at), at += c.byteLength);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "Cannot parse request body: it is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new HttpError(400, `Cannot parse request body: invalid JSON (${why})`);
  }
}
