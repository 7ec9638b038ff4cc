/**
 * Bundles `examples/browser/main.ts` into `dist/browser.js` (ESM, minified, for the browser) with
 * esbuild's JS API. A small plugin lets Deno resolve the workspace members and import-map entries
 * (`import.meta.resolve` applies both), so the map is never duplicated.
 *
 * Usage: `deno task bundle [entry] [outfile]`
 *
 * @module
 */

import * as esbuild from "esbuild";

/** Resolves bare specifiers (`@denoformers/*`, `@std/*`, `npm:`, `jsr:`) the way Deno does. */
export const denoResolve: esbuild.Plugin = {
  name: "deno-resolve",
  setup(build) {
    build.onResolve({ filter: /^(@[\w-]+\/|npm:|jsr:)/ }, (args) => {
      const url = import.meta.resolve(args.path);
      return url.startsWith("file:")
        ? { path: decodeURIComponent(new URL(url).pathname) }
        : { path: args.path, external: true };
    });
  },
};

/**
 * Bundles `entry` into `outfile`.
 *
 * @param entry The entry point.
 * @param outfile The output file.
 * @returns The size of the output in bytes.
 */
export async function bundle(entry: string, outfile: string): Promise<number> {
  try {
    await esbuild.build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      sourcemap: false,
      plugins: [denoResolve],
      logLevel: "info",
    });
  } finally {
    await esbuild.stop();
  }
  return (await Deno.stat(outfile)).size;
}

if (import.meta.main) {
  const [entry = "examples/browser/main.ts", outfile = "dist/browser.js"] = Deno.args;
  const size = await bundle(entry, outfile);
  console.log(`bundled ${entry} -> ${outfile} (${size} bytes)`);
}
