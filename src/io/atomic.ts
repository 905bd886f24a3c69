/**
 * Atomic file writes (Node.js): the bytes go to a temporary file in the target's directory, are
 * flushed to disk (fsync), and the temporary file is renamed over the target. rename(2) within one
 * file system is atomic, so a reader (or a crash at any moment) sees either the old file or the
 * complete new one, never a partial file where a good one was. A replaced file keeps its
 * permission bits (a 0600 model stays 0600); a new one gets 0644 less the umask.
 */
import { open, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { provideFileWriter } from "./file-access.js";

/** Test hooks: simulate a crash between the flushed temporary file and the rename. */
export interface AtomicWriteOptions {
  /** Called after the temporary file is flushed, before the rename; a throw aborts the write. */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

/** The temporary name used while writing `path` (same directory, hidden, unique). */
export function tempPathFor(path: string): string {
  const abs = resolve(path);
  return join(dirname(abs), `.${basename(abs)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/**
 * Writes `data` to `path` atomically. On any failure the temporary file is removed and the
 * previous content of `path` (if any) is untouched.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  await replaceAtomically(path, (handle) => writeAllBytes(handle, bytes), options);
}

/**
 * The atomic-replace protocol shared by every writer: `fill` writes the content into a fresh
 * temporary file beside `path` (created with the replaced file's mode, or 0644 less the umask),
 * which is then fsynced and renamed over `path`, and the directory entry flushed. If `fill` or any
 * step throws, the temporary file is removed and `path` is untouched. Resolves to `fill`'s value.
 */
export async function replaceAtomically<T>(path: string, fill: (handle: FileHandle) => Promise<T>, options: AtomicWriteOptions = {}): Promise<T> {
  const target = resolve(path);
  const temp = tempPathFor(target);
  let renamed = false;
  const mode = await existingMode(target);
  try {
    const handle = await open(temp, "wx", mode ?? 0o644);
    let value: T;
    try {
      // open's mode is masked by the umask; the replaced file's bits are restored exactly
      if (mode !== undefined) await handle.chmod(mode);
      value = await fill(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await options.beforeRename?.(temp);
    await rename(temp, target);
    renamed = true;
    await syncDirectory(dirname(target));
    return value;
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

/** Writes every byte (a write call may write fewer than asked). */
export async function writeAllBytes(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written);
    written += bytesWritten;
  }
}

/** The permission bits of an existing regular file at `path`, or undefined. */
export async function existingMode(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.mode & 0o7777 : undefined;
  } catch {
    return undefined;
  }
}

/** Flushes a directory entry (the rename) to disk; not every platform allows it, so best effort. */
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

// FlowModel.save (portable, src/model/model.ts) writes model files through this module once it is
// loaded; the browser entry never loads it (see io/file-access.ts).
provideFileWriter((path, bytes) => writeFileAtomic(path, bytes));
