/**
 * Atomic writes of output produced piece by piece (Node.js): the pieces go to a temporary file in
 * the target's directory as they come, so an output larger than one string (millions of CSV rows)
 * is never held whole; then fsync and rename over the target, as `writeFileAtomic` does for a
 * whole buffer (both through atomic.ts's replaceAtomically). Until the rename the target is untouched: a failure (or an exception from the
 * producer of the pieces) removes the temporary file and leaves any previous file as it was. A
 * replaced file keeps its permission bits.
 */
import { replaceAtomically, writeAllBytes, type AtomicWriteOptions } from "./atomic.js";

/** A piece of output: text (written as UTF-8) or bytes. */
export type OutputPiece = string | Uint8Array;

/** Text is gathered up to this many characters before one write call. */
const FLUSH_CHARS = 1 << 20;

/**
 * Writes the pieces of `pieces` (a generator, an array, an async iterable) to `path` atomically;
 * resolves to the number of bytes written. The pieces are consumed as they are written, so the
 * producer may compute them lazily.
 */
export async function writeStreamAtomic(
  path: string,
  pieces: Iterable<OutputPiece> | AsyncIterable<OutputPiece>,
  options: AtomicWriteOptions = {},
): Promise<number> {
  return replaceAtomically(
    path,
    async (handle) => {
      let total = 0;
      const writeAll = async (bytes: Uint8Array): Promise<void> => {
        await writeAllBytes(handle, bytes);
        total += bytes.length;
      };
      let text: string[] = [];
      let chars = 0;
      const flushText = async (): Promise<void> => {
        if (chars === 0) return;
        const joined = text.join("");
        text = [];
        chars = 0;
        await writeAll(Buffer.from(joined, "utf8"));
      };
      for await (const piece of pieces) {
        if (typeof piece === "string") {
          text.push(piece);
          chars += piece.length;
          if (chars >= FLUSH_CHARS) await flushText();
        } else {
          await flushText();
          await writeAll(piece);
        }
      }
      await flushText();
      return total;
    },
    options,
  );
}
