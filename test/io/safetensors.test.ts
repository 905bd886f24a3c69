import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileFormatError } from "../../src/engine/errors.js";
import { decodeSafetensors, encodeSafetensors } from "../../src/io/safetensors.js";

function sample(): Uint8Array {
  return encodeSafetensors(
    [
      ["layers.0.W", { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) }],
      ["layers.0.b", { shape: [3], data: Float64Array.from([0.1, Math.PI, -1e300]) }],
      ["scalar", { shape: [], data: Float32Array.from([7]) }],
      ["empty", { shape: [0, 4], data: new Float32Array(0) }],
    ],
    { format: "test", note: "ünïcode ✓" },
  );
}

/** Asserts a FileFormatError whose message is one line that starts with the source name. */
function assertFormatError(fn: () => unknown, pattern: RegExp, source = "f.st"): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FileFormatError, `expected FileFormatError, got ${String(e)}`);
    assert.ok(!e.message.includes("\n"), `message must be one line: ${e.message}`);
    assert.ok(e.message.startsWith(`${source}: `), `message must name the source: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

/** Rewrites the JSON header of a file (keeps 8-byte padding) with `edit`. */
function withHeader(bytes: Uint8Array, edit: (h: Record<string, unknown>) => void): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + (bytes.length - 8 - n));
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  out.set(bytes.subarray(8 + n), 8 + padded);
  return out;
}

test("safetensors: round trip of F32/F64 tensors (scalar and empty too) and unicode metadata, bit for bit", () => {
  const bytes = sample();
  const { metadata, tensors } = decodeSafetensors(bytes, "f.st");
  assert.deepEqual(metadata, { format: "test", note: "ünïcode ✓" });
  const W = tensors.get("layers.0.W")!;
  assert.equal(W.dtype, "F32");
  assert.deepEqual(W.shape, [2, 3]);
  assert.deepEqual(Array.from(W.data), [1, 2, 3, 4, 5, -6.5]);
  const b = tensors.get("layers.0.b")!;
  assert.equal(b.dtype, "F64");
  assert.ok(b.data instanceof Float64Array);
  assert.deepEqual(Array.from(b.data), [0.1, Math.PI, -1e300]);
  assert.deepEqual(tensors.get("scalar")!.shape, []);
  assert.equal(tensors.get("empty")!.data.length, 0);
  assert.deepEqual([...tensors.keys()].sort(), ["empty", "layers.0.W", "layers.0.b", "scalar"]);
});

test("safetensors: standard layout (8-byte aligned header and F64 data, contiguous offsets)", () => {
  const bytes = sample();
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { data_offsets: number[]; dtype: string }>;
  assert.equal(new TextDecoder().decode(bytes.subarray(8, 9)), "{");
  const spans = Object.entries(header)
    .filter(([k]) => k !== "__metadata__")
    .map(([, v]) => v)
    .sort((a, b) => a.data_offsets[0]! - b.data_offsets[0]!);
  let cursor = 0;
  for (const s of spans) {
    assert.equal(s.data_offsets[0], cursor);
    if (s.dtype === "F64") assert.equal(s.data_offsets[0]! % 8, 0);
    cursor = s.data_offsets[1]!;
  }
  assert.equal(8 + n + cursor, bytes.length);
});

test("safetensors: a Node Buffer view into a larger pool decodes correctly", () => {
  const bytes = sample();
  const pool = Buffer.alloc(bytes.length + 13);
  pool.set(bytes, 5);
  const view = pool.subarray(5, 5 + bytes.length);
  const { tensors } = decodeSafetensors(view, "f.st");
  assert.deepEqual(Array.from(tensors.get("layers.0.b")!.data), [0.1, Math.PI, -1e300]);
});

test("safetensors: truncation at any of several offsets is a one-line FileFormatError", () => {
  const bytes = sample();
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  for (const cut of [0, 3, 7, 8, 20, 8 + n - 1, 8 + n, 8 + n + 5, bytes.length - 1]) {
    assertFormatError(() => decodeSafetensors(bytes.slice(0, cut), "f.st"), /truncated|not a safetensors|corrupt/);
  }
});

test("safetensors: corrupt headers are one-line FileFormatErrors", () => {
  const bytes = sample();
  // flipped bytes in the JSON header
  for (const at of [8, 9, 12, 30]) {
    const copy = bytes.slice();
    copy[at] = copy[at]! ^ 0xff;
    assertFormatError(() => decodeSafetensors(copy, "f.st"), /corrupt|not a safetensors/);
  }
  // a huge header length (not a safetensors file at all)
  const text = new TextEncoder().encode("hello, this is a plain text file, not tensors\n");
  assertFormatError(() => decodeSafetensors(text, "f.st"), /not a safetensors file/);
  // the 100 MB header limit holds whatever the file's length: a claim of 2^40 bytes in a short
  // file, and a claim of 100,000,001 bytes that the file really holds, are both refused before
  // any of the header is decoded
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
  assertFormatError(() => decodeSafetensors(huge, "f.st"), /^f\.st: not a safetensors file \(header length 1099511627776 is implausible: more than the 100,000,000-byte limit\)$/);
  const real = new Uint8Array(8 + 100_000_001 + 8).fill(0x20);
  new DataView(real.buffer).setBigUint64(0, 100_000_001n, true);
  real[8] = 0x7b; // "{"
  assertFormatError(() => decodeSafetensors(real, "f.st"), /^f\.st: not a safetensors file \(header length 100000001 is implausible: more than the 100,000,000-byte limit\)$/);
  // a JSON array header
  const arr = new Uint8Array(16);
  new DataView(arr.buffer).setBigUint64(0, 8n, true);
  arr.set(new TextEncoder().encode("[1,2,3] "), 8);
  assertFormatError(() => decodeSafetensors(arr, "f.st"), /does not start with|expected a JSON object/);
});

test("safetensors: inconsistent tensor entries are rejected", () => {
  const bytes = sample();
  const cases: [string, (h: Record<string, any>) => void, RegExp][] = [
    ["unknown dtype", (h) => (h["layers.0.W"].dtype = "Q7"), /unknown dtype/],
    ["unsupported dtype", (h) => (h["layers.0.W"].dtype = "F16"), /F16.*F32 and F64 only/],
    ["size disagrees with shape", (h) => (h["layers.0.W"].shape = [2, 2]), /needs 16 bytes/],
    ["negative shape", (h) => (h["layers.0.W"].shape = [-2, 3]), /invalid shape/],
    ["offsets past the end", (h) => (h["layers.0.W"].data_offsets = [1000, 1024]), /needs|truncated/],
    ["reversed offsets", (h) => (h["layers.0.W"].data_offsets = [24, 0]), /invalid data_offsets/],
    ["overlap", (h) => {
      const b = h["layers.0.b"].data_offsets as number[];
      h["scalar"].data_offsets = [b[0], b[0]! + 4];
    }, /overlaps|gap/],
    ["non-string metadata", (h) => (h.__metadata__.format = 3), /must be a string/],
    ["tensor entry not an object", (h) => (h["scalar"] = 5), /not an object/],
  ];
  for (const [what, edit, pattern] of cases) {
    assertFormatError(() => decodeSafetensors(withHeader(bytes, edit), "f.st"), pattern);
    void what;
  }
  // bytes after the last tensor
  const extra = new Uint8Array(bytes.length + 4);
  extra.set(bytes);
  assertFormatError(() => decodeSafetensors(extra, "f.st"), /unexpected bytes/);
});

test("safetensors: encoding refuses inconsistent input", () => {
  assert.throws(() => encodeSafetensors([["a", { shape: [3], data: new Float32Array(2) }]]), FileFormatError);
  assert.throws(
    () => encodeSafetensors([["a", { shape: [1], data: new Float32Array(1) }], ["a", { shape: [1], data: new Float32Array(1) }]]),
    /duplicate/,
  );
  assert.throws(() => encodeSafetensors([["__metadata__", { shape: [1], data: new Float32Array(1) }]]), /invalid tensor name/);
});

test("safetensors: numpy reads the file by the standard layout (when python3 with numpy is available)", (t) => {
  const probe = spawnSync("python3", ["-c", "import numpy"], { encoding: "utf8" });
  if (probe.status !== 0) {
    t.skip("python3 with numpy is not available");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "nflow-st-"));
  try {
    const path = join(dir, "w.safetensors");
    writeFileSync(path, sample());
    // The reference reader's algorithm: u64 header length, JSON header, frombuffer at the offsets.
    const script = [
      "import json, struct, sys, numpy as np",
      "b = open(sys.argv[1], 'rb').read()",
      "n = struct.unpack('<Q', b[:8])[0]",
      "h = json.loads(b[8:8+n])",
      "buf = b[8+n:]",
      "out = {}",
      "for k, v in h.items():",
      "    if k == '__metadata__': continue",
      "    s, e = v['data_offsets']",
      "    a = np.frombuffer(buf[s:e], dtype={'F32': '<f4', 'F64': '<f8'}[v['dtype']]).reshape(v['shape'])",
      "    out[k] = a.ravel().tolist()",
      "print(json.dumps({'meta': h['__metadata__'], 't': out}))",
    ].join("\n");
    const r = spawnSync("python3", ["-c", script, path], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const parsed = JSON.parse(r.stdout) as { meta: Record<string, string>; t: Record<string, number[]> };
    assert.equal(parsed.meta.note, "ünïcode ✓");
    assert.deepEqual(parsed.t["layers.0.W"], [1, 2, 3, 4, 5, -6.5]);
    assert.deepEqual(parsed.t["layers.0.b"], [0.1, Math.PI, -1e300]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
