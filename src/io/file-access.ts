/**
 * Where FlowModel.save gets its file writer. The model (portable: it runs in browsers) must not
 * import node:fs, not even through a dynamic import(), because bundlers follow dynamic imports
 * and fail on Node built-ins. So the direction is reversed: the Node-only module that can write
 * files atomically (io/atomic.ts, loaded by the Node entry src/node.ts, by io/model-file.ts and by
 * plot/node-canvas.ts) offers its writer here when it loads. In a browser nothing does, and
 * `save` says to use `toBytes()`.
 */

/** Writes `bytes` to `path` (atomically: temporary file, fsync, rename). */
export type FileWriter = (path: string, bytes: Uint8Array) => Promise<void>;

let writer: FileWriter | undefined;

/** Called by io/atomic.ts on load: FlowModel.save writes through `w` from then on. */
export function provideFileWriter(w: FileWriter): void {
  writer = w;
}

/** The file writer, or undefined where no Node file access was loaded (a browser). */
export function fileWriter(): FileWriter | undefined {
  return writer;
}

/** The one-line message of `FlowModel.save` without file access. */
export const NO_FILE_ACCESS =
  "FlowModel.save needs Node.js file access; in the browser use model.toBytes() (the same bytes as the model file) and FlowModel.fromBytes(bytes) to read them back";
