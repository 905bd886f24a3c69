import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadTable, parseCsv, selectColumns, splitContext } from "../../src/data/tabular.js";
import { ConfigError, FileFormatError } from "../../src/engine/errors.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const fixtures = join(root, "test", "data", "fixtures");
const MATRIX = [1.5, -2.25, 3e-3, 4, 5.125, -6e10];

function withTmp(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "nflow-tabular-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("CSV: header detected or absent, delimiters detected, quotes, comments and blank lines", () => {
  withTmp((dir) => {
    const a = join(dir, "a.csv");
    writeFileSync(a, 'x,"y, with comma",z\n1,2,3\n\n# a comment\n4.5,-5e-1,6\n');
    const t = loadTable(a);
    assert.deepEqual(t.columns, ["x", "y, with comma", "z"]);
    assert.equal(t.n, 2);
    assert.equal(t.dim, 3);
    assert.deepEqual([...t.x], [1, 2, 3, 4.5, -0.5, 6]);

    const b = join(dir, "b.csv");
    writeFileSync(b, "1;2\r\n3;4\r\n");
    const tb = loadTable(b);
    assert.deepEqual(tb.columns, ["c0", "c1"]);
    assert.deepEqual([...tb.x], [1, 2, 3, 4]);

    const c = join(dir, "c.txt");
    writeFileSync(c, "  1   2\n3\t 4\n");
    assert.deepEqual([...loadTable(c).x], [1, 2, 3, 4]);
    const tsv = join(dir, "d.tsv");
    writeFileSync(tsv, "a\tb\n.5\t1e3\n");
    assert.deepEqual([...loadTable(tsv).x], [0.5, 1000]);
  });
});

test("CSV: bad values and ragged rows throw FileFormatError naming file, line and column", () => {
  withTmp((dir) => {
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "u,v\n1,2\n3,abc\n");
    assert.throws(() => loadTable(bad), (e: Error) => e instanceof FileFormatError && /bad\.csv: line 3, column 2 \("v"\): expected a number, got "abc"/.test(e.message));
    writeFileSync(bad, "u,v\n1,2\n3,\n");
    assert.throws(() => loadTable(bad), (e: Error) => e instanceof FileFormatError && /line 3, column 2/.test(e.message) && /missing values/.test(e.message));
    writeFileSync(bad, "1,2\n3,NaN\n");
    assert.throws(() => loadTable(bad), (e: Error) => e instanceof FileFormatError && /line 2, column 2/.test(e.message));
    writeFileSync(bad, "1,2\n3,4,5\n");
    assert.throws(() => loadTable(bad), (e: Error) => e instanceof FileFormatError && /line 2: expected 2 fields/.test(e.message));
    writeFileSync(bad, "\n\n");
    assert.throws(() => loadTable(bad), FileFormatError);
    writeFileSync(bad, "a,b\n");
    assert.throws(() => loadTable(bad), (e: Error) => e instanceof FileFormatError && /no data rows/.test(e.message));
    assert.throws(() => loadTable(join(dir, "missing.csv")), FileFormatError);
    assert.throws(() => loadTable(join(dir, "x.parquet")), FileFormatError);
  });
  // header forced off: the header line is then a bad data line
  assert.throws(() => parseCsv("a,b\n1,2\n", "t.csv", { header: false }), (e: Error) => /t\.csv: line 1, column 1/.test(e.message));
});

test(".npy written by NumPy: <f8, <f4, v2 header, 1-D, big-endian; Fortran order and ints are refused", () => {
  const f8 = loadTable(join(fixtures, "small-f8.npy"));
  assert.equal(f8.n, 2);
  assert.equal(f8.dim, 3);
  assert.deepEqual([...f8.x], MATRIX);
  assert.deepEqual([...loadTable(join(fixtures, "small-f8-v2.npy")).x], MATRIX);
  const f4 = loadTable(join(fixtures, "small-f4.npy"));
  assert.deepEqual([...f4.x], MATRIX.map(Math.fround));
  assert.deepEqual([...loadTable(join(fixtures, "big-endian-f4.npy")).x], MATRIX.map(Math.fround));
  const v = loadTable(join(fixtures, "vector-f8.npy"));
  assert.equal(v.dim, 1);
  assert.deepEqual([...v.x], [0.5, 1.5, 2.5]);
  assert.throws(() => loadTable(join(fixtures, "fortran-f8.npy")), (e: Error) => e instanceof FileFormatError && /Fortran/.test(e.message));
  assert.throws(() => loadTable(join(fixtures, "int32.npy")), (e: Error) => e instanceof FileFormatError && /<i4/.test(e.message));
  withTmp((dir) => {
    const p = join(dir, "trunc.npy");
    const bytes = new Uint8Array(readFileSync(join(fixtures, "small-f8.npy")));
    writeFileSync(p, bytes.subarray(0, bytes.length - 8));
    assert.throws(() => loadTable(p), (e: Error) => e instanceof FileFormatError && /truncated/.test(e.message));
    writeFileSync(p, "not numpy at all");
    assert.throws(() => loadTable(p), (e: Error) => e instanceof FileFormatError && /NUMPY/.test(e.message));
  });
});

test("float32/float64 binaries with a meta.json side-car (the data-folder format), and without", () => {
  // the committed Old Faithful copy: 218 × 2 float32, columns from meta.json
  const of = loadTable(join(root, "data", "old-faithful"));
  assert.equal(of.n, 218);
  assert.equal(of.dim, 2);
  assert.deepEqual(of.columns, ["eruptions_min", "waiting_min"]);
  assert.deepEqual([of.x[0], of.x[1]], [Math.fround(3.6), 79]);
  const viaFile = loadTable(join(root, "data", "old-faithful", "train.f32"));
  assert.deepEqual(viaFile.x, of.x);

  withTmp((dir) => {
    const sub = join(dir, "set");
    mkdirSync(sub);
    const f64 = new Float64Array(MATRIX);
    writeFileSync(join(sub, "test.f64"), new Uint8Array(f64.buffer));
    writeFileSync(join(sub, "train.f32"), new Uint8Array(new Float32Array(MATRIX).buffer));
    const meta = {
      name: "set",
      columns: ["a", "b", "c"],
      files: {
        train: { file: "train.f32", shape: [2, 3], dtype: "float32", byteOrder: "little", layout: "row-major" },
        test: { file: "test.f64", shape: [2, 3], dtype: "float64", byteOrder: "little", layout: "row-major" },
      },
    };
    writeFileSync(join(sub, "meta.json"), JSON.stringify(meta));
    assert.deepEqual([...loadTable(sub).x], MATRIX.map(Math.fround), "default part is train");
    assert.deepEqual([...loadTable(sub, { part: "test" }).x], MATRIX);
    assert.throws(() => loadTable(sub, { part: "val" }), (e: Error) => e instanceof ConfigError && /available: train, test/.test(e.message));
    // wrong size
    meta.files.train.shape = [3, 3];
    writeFileSync(join(sub, "meta.json"), JSON.stringify(meta));
    assert.throws(() => loadTable(join(sub, "train.f32")), (e: Error) => e instanceof FileFormatError && /expected 36 bytes.*got 24.*truncated/.test(e.message));
    // broken JSON
    writeFileSync(join(sub, "meta.json"), "{ not json");
    assert.throws(() => loadTable(sub), (e: Error) => e instanceof FileFormatError && /meta\.json: invalid JSON/.test(e.message));
    // no meta.json: needs dim
    const lone = join(dir, "lone.f32");
    writeFileSync(lone, new Uint8Array(new Float32Array(MATRIX).buffer));
    assert.throws(() => loadTable(lone), (e: Error) => e instanceof FileFormatError && /meta\.json/.test(e.message));
    assert.equal(loadTable(lone, { dim: 3 }).n, 2);
    assert.throws(() => loadTable(lone, { dim: 4 }), FileFormatError);
  });
});

test("selectColumns and splitContext", () => {
  const t = parseCsv("a,b,c\n1,2,3\n4,5,6\n");
  const s = selectColumns(t, ["c", 0]);
  assert.deepEqual(s.columns, ["c", "a"]);
  assert.deepEqual([...s.x], [3, 1, 6, 4]);
  const { data, context, contextColumns } = splitContext(t, ["b"]);
  assert.deepEqual(data.columns, ["a", "c"]);
  assert.deepEqual([...data.x], [1, 3, 4, 6]);
  assert.deepEqual([...context], [2, 5]);
  assert.deepEqual(contextColumns, ["b"]);
  assert.throws(() => selectColumns(t, ["d"]), (e: Error) => e instanceof ConfigError && /columns are a, b, c/.test(e.message));
  assert.throws(() => splitContext(t, ["a", "b", "c"]), ConfigError);
});
