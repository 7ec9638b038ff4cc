/**
 * A static file server for tests (answers Range requests), to load model folders by URL.
 *
 * @module
 */

/** Serves `dir` on a free port until `close()`. */
export function serveDir(dir: string): { url: string; close: () => Promise<void> } {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const path = `${dir}${decodeURIComponent(new URL(req.url).pathname)}`;
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = await Deno.readFile(path);
      } catch {
        return new Response("not found", { status: 404 });
      }
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.get("range") ?? "");
      if (!range) return new Response(req.method === "HEAD" ? null : bytes);
      const start = Number(range[1]);
      const end = Math.min(Number(range[2]), bytes.length - 1);
      return new Response(bytes.slice(start, end + 1), {
        status: 206,
        headers: { "content-range": `bytes ${start}-${end}/${bytes.length}` },
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}
