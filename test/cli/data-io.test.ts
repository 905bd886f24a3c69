// Streams, no silent NaN, and columns by name (issue 9): the CSV reader parses in pieces with the
// old parser's results and messages, outputs are written as they come (atomically), values beyond
// the model's dtype and NaN outputs are errors naming rows, and headers are matched by name.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CsvParser, loadTable, type Table } from "../../src/data/tabular.js";
import { FileFormatError } from "../../src/engine/errors.js";
import { hostRng } from "../../src/engine/random.js";
import { writeStreamAtomic } from "../../src/io/atomic-stream.js";
import { nflowIn } from "../support/nflow-cli.js";

const dir = mkdtempSync(join(tmpdir(), "nflow-data-io-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const nflow = nflowIn(dir, 120_000);

/** The whole-string parser as it was before the streaming one (the reference). */
function oldParseCsv(text: string, file: string): Table {
  const isNumber = (f: string): boolean => f !== "" && /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)$/.test(f);
  const splitFields = (line: string, delimiter: string): string[] => {
    if (delimiter === " ") return line.trim().split(/\s+/);
    const out: string[] = [];
    let cur = "";
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]!;
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') {
          cur += '"';
          i++;
        } else if (ch === '"') quoted = false;
        else cur += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === delimiter) {
        out.push(cur.trim());
        cur = "";
      } else cur += ch;
    }
    out.push(cur.trim());
    return out;
  };
  const lines = text.split(/\r?\n/);
  const first = lines.findIndex((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
  if (first < 0) throw new FileFormatError(`${file}: no data (the file is empty)`);
  const delimiter = [",", ";", "\t"].find((d) => lines[first]!.includes(d)) ?? " ";
  const firstFields = splitFields(lines[first]!, delimiter);
  const hasHeader = firstFields.some((f) => !isNumber(f));
  const dim = firstFields.length;
  const columns = hasHeader ? firstFields.map((f, j) => f || `c${j}`) : firstFields.map((_, j) => `c${j}`);
  const values: number[] = [];
  let n = 0;
  for (let i = hasHeader ? first + 1 : first; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const fields = splitFields(line, delimiter);
    if (fields.length !== dim) throw new FileFormatError(`${file}: line ${i + 1}: expected ${dim} fields (as in line ${first + 1}), got ${fields.length}`);
    for (let j = 0; j < dim; j++) {
      const f = fields[j]!;
      if (!isNumber(f))
        throw new FileFormatError(
          `${file}: line ${i + 1}, column ${j + 1} (${JSON.stringify(columns[j])}): expected a number, got ${JSON.stringify(f)}` +
            (f === "" || /^(na|nan|null|none|\?)$/i.test(f) ? " (missing values are not supported: drop or impute the row)" : ""),
        );
      values.push(Number(f));
    }
    n++;
  }
  if (n === 0) throw new FileFormatError(`${file}: a header but no data rows`);
  return { x: Float64Array.from(values), n, dim, columns };
}

/** A CSV of `rows` rows: header with a quoted name, CRLF and LF endings, comments, blank lines. */
function generatedCsv(rows: number, seed: number): string {
  const rng = hostRng(seed);
  const parts = ['a,"b, quoted", c \r\n'];
  for (let i = 0; i < rows; i++) {
    if (i % 997 === 5) parts.push("# a comment\n\n");
    const v = [(rng() - 0.5) * 1e3, -rng() * 1e-7, Math.round(rng() * 100)];
    parts.push(`${v[0]}, ${v[1]!.toExponential(6)} ,${v[2]}${i % 3 === 0 ? "\r\n" : "\n"}`);
  }
  return parts.join("");
}

test("CSV reader: pieces split anywhere give the old parser's table, in a file of a few MB too", () => {
  const text = generatedCsv(60_000, 1); // ≈ 3 MB
  assert.ok(text.length > 2e6);
  const ref = oldParseCsv(text, "g.csv");
  const path = join(dir, "g.csv");
  writeFileSync(path, text);
  const fromFile = loadTable(path);
  assert.deepEqual(fromFile.columns, ["a", "b, quoted", "c"]);
  assert.equal(fromFile.n, 60_000);
  assert.equal(fromFile.named, true);
  assert.deepEqual(fromFile.x, ref.x);
  // random piece boundaries, including inside "\r\n" and inside numbers
  const rng = hostRng(2);
  const p = new CsvParser("g.csv");
  for (let at = 0; at < text.length; ) {
    const len = 1 + Math.floor(rng() * 70_000);
    p.push(text.slice(at, at + len));
    at += len;
  }
  assert.deepEqual(p.end().x, ref.x);
});

test("CSV reader: the same error messages (line, column) as the old parser", () => {
  const cases = ["u,v\n1,2\n3,abc\n", "u,v\n1,2\n3,\n", "1,2\n3,NaN\n", "1,2\n3,4,5\n", "\n\n", "a,b\n", "# c\n\nx;y\r\n1;2\r\n3;?\r\n"];
  for (const [k, text] of cases.entries()) {
    const path = join(dir, `bad${k}.csv`);
    writeFileSync(path, text);
    let expected = "";
    try {
      oldParseCsv(text, path);
    } catch (e) {
      expected = (e as Error).message;
    }
    assert.ok(expected !== "", `case ${k} is an error`);
    assert.throws(() => loadTable(path), (e: Error) => e instanceof FileFormatError && e.message === expected, `case ${k}: ${expected}`);
  }
});

test("writeStreamAtomic: pieces written as they come; a failing producer leaves the old file; the mode is kept", async () => {
  const path = join(dir, "out.csv");
  writeFileSync(path, "old\n");
  chmodSync(path, 0o600);
  function* bad(): Generator<string> {
    yield "new\n";
    throw new Error("producer failed");
  }
  await assert.rejects(writeStreamAtomic(path, bad()), /producer failed/);
  assert.equal(readFileSync(path, "utf8"), "old\n");
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp")), [], "no temporary file left");
  let made = 0;
  function* rows(): Generator<string | Uint8Array> {
    for (let i = 0; i < 100_000; i++) {
      made++;
      yield `${i}\n`;
    }
    yield new TextEncoder().encode("end\n");
  }
  const bytes = await writeStreamAtomic(path, rows());
  const text = readFileSync(path, "utf8");
  assert.equal(made, 100_000);
  assert.equal(bytes, Buffer.byteLength(text));
  assert.equal(text.split("\n").length, 100_002);
  assert.ok(text.endsWith("99999\nend\n"));
  assert.equal(statSync(path).mode & 0o777, 0o600, "a replaced file keeps its mode");
});

const model = join(dir, "m.nflow");

test("nflow sample --n 300000 writes every row as it goes; logprob/encode reject values beyond float32 and NaN outputs naming rows", () => {
  const train = nflow("train", "--flow", "realnvp", "--data", "moons", "--n", "500", "--steps", "5", "--layers", "2", "--hidden", "8", "--seed", "1", "--out", model);
  assert.equal(train.code, 0, train.stderr);
  const samples = join(dir, "s.csv");
  const s = nflow("sample", "--model", model, "--n", "300000", "--out", samples, "--seed", "3");
  assert.equal(s.code, 0, s.stderr);
  const lines = readFileSync(samples, "utf8").split("\n");
  assert.equal(lines.length, 300_002, "header + 300,000 rows + the final newline");
  assert.equal(lines[0], "x1,x2");
  assert.ok(lines.slice(1, -1).every((l) => /^[-0-9.e+]+,[-0-9.e+]+$/.test(l)));
  assert.equal(lines.at(-1), "");

  const big = join(dir, "big.csv");
  writeFileSync(big, "x1,x2\n0.1,0.2\n0.3,1e39\n");
  const lpOut = join(dir, "lp.csv");
  writeFileSync(lpOut, "keep\n");
  for (const cmd of ["logprob", "encode"]) {
    const r = nflow(cmd, "--model", model, "--input", big, "--out", lpOut);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^nflow: error: .*big\.csv: row 2, column 2 \("x2"\): 1e\+39 .*beyond the range of float32/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
  // 1e38 fits float32, but the flow's arithmetic overflows: NaN is an error, not a silent value
  writeFileSync(big, "x1,x2\n0.1,0.2\n0.3,-0.1\n1e38,0\n");
  for (const cmd of ["logprob", "encode"]) {
    const r = nflow(cmd, "--model", model, "--input", big, "--out", lpOut);
    if (r.code === 0) {
      // a finite answer is allowed (no overflow on this platform), but never a NaN in the file
      assert.doesNotMatch(readFileSync(lpOut, "utf8"), /NaN/);
    } else {
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /^nflow: error: .*big\.csv: .* NaN or infinite for 1 of 3 rows \(row 3\)/);
      assert.equal(readFileSync(lpOut, "utf8"), "keep\n", "nothing written");
    }
  }
});

test("nflow logprob/encode take header columns by name: reordered with a note, missing ones named, no header by position", () => {
  const x = join(dir, "x.csv");
  const swapped = join(dir, "swapped.csv");
  const extra = join(dir, "extra.csv");
  const plain = join(dir, "plain.csv");
  const rows = [[0.5, -0.25], [1.5, 0.25], [-0.75, 0.5]];
  writeFileSync(x, `x1,x2\n${rows.map((r) => r.join(",")).join("\n")}\n`);
  writeFileSync(swapped, `x2,x1\n${rows.map((r) => `${r[1]},${r[0]}`).join("\n")}\n`);
  writeFileSync(extra, `id,x2,x1\n${rows.map((r, i) => `${i},${r[1]},${r[0]}`).join("\n")}\n`);
  writeFileSync(plain, `${rows.map((r) => r.join(",")).join("\n")}\n`);
  const out = (name: string): string => join(dir, name);
  const ref = nflow("logprob", "--model", model, "--input", x, "--out", out("ref.csv"));
  assert.equal(ref.code, 0, ref.stderr);
  assert.equal(ref.stderr, "", "same names, same order: nothing to say");
  const expected = readFileSync(out("ref.csv"), "utf8");
  const sw = nflow("logprob", "--model", model, "--input", swapped, "--out", out("sw.csv"));
  assert.equal(sw.code, 0, sw.stderr);
  assert.match(sw.stderr, /^nflow: warning: .*swapped\.csv: columns matched by name and reordered to the model's order \(x2, x1 → x1, x2\)\n$/);
  assert.equal(readFileSync(out("sw.csv"), "utf8"), expected);
  const ex = nflow("logprob", "--model", model, "--input", extra, "--out", out("ex.csv"));
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stderr, /column id not used by the model, ignored/);
  assert.equal(readFileSync(out("ex.csv"), "utf8"), expected);
  const pl = nflow("logprob", "--model", model, "--input", plain, "--out", out("pl.csv"));
  assert.equal(pl.code, 0, pl.stderr);
  assert.equal(readFileSync(out("pl.csv"), "utf8"), expected, "no header: by position");
  // encode reorders the same way
  const e1 = nflow("encode", "--model", model, "--input", x, "--out", out("e1.csv"));
  const e2 = nflow("encode", "--model", model, "--input", swapped, "--out", out("e2.csv"));
  assert.equal(e1.code + e2.code, 0);
  assert.equal(readFileSync(out("e2.csv"), "utf8"), readFileSync(out("e1.csv"), "utf8"));
  // a missing name is an error naming it; nothing is written
  const missing = join(dir, "missing.csv");
  writeFileSync(missing, "x1,y\n1,2\n");
  const m = nflow("logprob", "--model", model, "--input", missing, "--out", out("m.csv"));
  assert.equal(m.code, 3, m.stderr);
  assert.match(m.stderr, /^nflow: error: .*missing\.csv: no column x2 \(the model's x columns are x1, x2; the file has x1, y\)\n$/);
  // names the model does not know at all: by position, with a warning
  const other = join(dir, "other.csv");
  writeFileSync(other, `a,b\n${rows.map((r) => r.join(",")).join("\n")}\n`);
  const o = nflow("logprob", "--model", model, "--input", other, "--out", out("o.csv"));
  assert.equal(o.code, 0, o.stderr);
  assert.match(o.stderr, /none of its column names \(a, b\) is one of the model's \(x1, x2\); the columns are taken by position/);
  assert.equal(readFileSync(out("o.csv"), "utf8"), expected);
});

test("nflow eval on a single table says that every row, training rows included, is evaluated", () => {
  const x = join(dir, "eval.csv");
  writeFileSync(x, "x1,x2\n0.5,-0.25\n1.5,0.25\n-0.75,0.5\n");
  const r = nflow("eval", "--model", model, "--data", x);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^nflow: warning: .*eval\.csv is one table without a test part: evaluating all its 3 rows, which may include rows the model trained on\n$/);
});
