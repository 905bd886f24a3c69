// The playground's build: a static site with relative paths (base "./"), so web/dist works from
// any static host or a file server. `normalizing-flows` resolves to this repository's package:
// the file its exports map gives bundlers under the "browser" condition (dist/browser.js, built by
// `npm run build`), the module a user's app gets from the installed package. Nothing here imports src/.
import { defineConfig } from "vite";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL(".", import.meta.url));
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { exports: { ".": { browser: { default: string } } } };
const browserEntry = fileURLToPath(new URL(`../${pkg.exports["."].browser.default}`, import.meta.url));

export default defineConfig({
  root,
  base: "./",
  resolve: { alias: [{ find: /^normalizing-flows$/, replacement: browserEntry }] },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000 },
  server: { port: 5180 },
  preview: { port: 5180 },
});
