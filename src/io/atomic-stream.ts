/**
 * Atomic writes of output produced piece by piece (Node.js): the pieces go to a temporary file in
 * the target's directory as they come, so an output larger than one string (millions of CSV rows)
 * is never held whole; then fsync and rename over the target, as `writeFileAtomic` does for a
 * whole buffer. Until the rename the target is untouched: a failure (or an exception from the
 * producer of the pieces) removes the temporary file and leaves any previous file as it was. A
 * replaced file keeps its permission bits.
 */
import { open, rename, unlink } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { existingMode, tempPathFor, type AtomicWriteOptions } from "./atomic.js";

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
  const target = resolve(path);
  const temp = tempPathFor(target);
  const mode = await existingMode(target);
  let renamed = false;
  let total = 0;
  try {
    const handle = await open(temp, "wx", mode ?? 0o644);
    try {
      // open's mode is masked by the umask; a replaced file's bits are restored exactly
      if (mode !== undefined) await handle.chmod(mode);
      const writeAll = async (bytes: Uint8Array): Promise<void> => {
        let written = 0;
        while (written < bytes.length) {
          const { bytesWritten } = await handle.write(bytes, written, bytes.length - written);
          written += bytesWritten;
        }
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
      await handle.sync();
    } finally {
      await handle.close();
    }
    await options.beforeRename?.(temp);
    await rename(temp, target);
    renamed = true;
    await syncDirectory(dirname(target));
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
  return total;
}

/** Flushes a directory entry (the rename) to disk where the platform allows it (best effort). */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows and some file systems refuse fsync on directories; the rename itself is still atomic.
  }
}
