/**
 * A progress bar on stderr: redrawn in place on a terminal, one plain line per quarter otherwise
 * (for CI logs).
 *
 * @module
 */

/** Reports `done` of `total` with a short status text. */
export type Progress = (done: number, status?: string) => void;

/**
 * Starts a progress bar.
 *
 * @param label What is progressing.
 * @param total Number of steps.
 * @returns The reporting function; call it with `done === total` last.
 */
export function progressBar(label: string, total: number): Progress {
  const tty = Deno.stderr.isTerminal();
  const start = performance.now();
  const write = (s: string) => Deno.stderr.writeSync(new TextEncoder().encode(s));
  let quarter = 0;
  return (done, status = "") => {
    const elapsed = (performance.now() - start) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : 0;
    const time = done === total ? `${elapsed.toFixed(1)}s` : `eta ${eta.toFixed(0)}s`;
    if (tty) {
      const filled = Math.round((24 * done) / total);
      const bar = "#".repeat(filled) + ".".repeat(24 - filled);
      write(
        `\r${label} [${bar}] ${done}/${total} ${status} ${time}\x1b[K${done === total ? "\n" : ""}`,
      );
    } else if (done === total || done >= ((quarter + 1) * total) / 4) {
      quarter = Math.floor((4 * done) / total);
      write(`${label} ${Math.round((100 * done) / total)}% (${done}/${total}) ${status} ${time}\n`);
    }
  };
}
