/**
 * The model file on disk (Node.js): the bytes of model-format.ts, written atomically (atomic.ts:
 * temporary file, fsync, rename) and read with one-line FileFormatErrors for missing or unreadable
 * files as well as for everything decodeModelFile checks.
 */
import { readFile } from "node:fs/promises";
import { FileFormatError } from "../engine/errors.js";
import type { FlowParams } from "../distributions/flow.js";
import { writeFileAtomic, type AtomicWriteOptions } from "./atomic.js";
import { decodeModelFile, encodeModelFile, type LoadedModelFile, type ModelFileInput } from "./model-format.js";

export * from "./model-format.js";

/** Writes a model file atomically (temporary file, fsync, rename). Does not consume `params`. */
export async function writeModelFile(path: string, input: ModelFileInput, params: FlowParams, options: AtomicWriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, encodeModelFile(input, params), options);
}

/** Reads and fully validates a model file (one-line FileFormatError naming the file on any problem). */
export async function readModelFile(path: string): Promise<LoadedModelFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT") throw new FileFormatError(`${path}: no such model file (check the path, or train one with 'nflow train ... --out ${path}')`);
    if (code === "EISDIR") throw new FileFormatError(`${path}: is a directory, expected a model file`);
    if (code === "EACCES" || code === "EPERM") throw new FileFormatError(`${path}: permission denied`);
    throw new FileFormatError(`${path}: cannot read (${(error as Error).message.split("\n")[0]})`);
  }
  return decodeModelFile(bytes, path);
}

