// The playground's build: a static site with relative paths (base "./"), so web/dist works from
// any static host or a file server. `normalizing-flows` resolves to this repository's package:
// the file its exports map gives bundlers under the "browser" condition (dist/browser.js, built by
// `npm run build`), the module a user's app gets from the installed package. Nothing here imports src/.
import { defineConfig, type Plugin } from "vite";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

const root = fileURLToPath(new URL(".", import.meta.url));
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { exports: { ".": { browser: { default: string } } } };
const browserEntry = fileURLToPath(new URL(`../${pkg.exports["."].browser.default}`, import.meta.url));

/**
 * Browsers refuse module scripts and `crossorigin` stylesheets fetched from file:// (CORS), so
 * after the build the page's one script chunk (dynamic imports inlined) and its stylesheet are
 * written into index.html: web/dist/index.html then opens from disk too, with no server.
 */
function inlineIntoHtml(): Plugin {
  return {
    name: "playground-inline",
    apply: "build",
    writeBundle(options, bundle) {
      const dir = options.dir!;
      const htmlPath = join(dir, "index.html");
      let html = readFileSync(htmlPath, "utf8");
      const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      for (const [name, out] of Object.entries(bundle)) {
        const file = join(dir, name);
        if (out.type === "chunk" && out.isEntry) {
          const tag = new RegExp(`<script type="module" crossorigin src="\\./${escape(name)}"></script>`);
          if (!tag.test(html)) throw new Error(`playground build: no <script> tag for ${name} in index.html`);
          const code = readFileSync(file, "utf8").replaceAll("</script", "<\\/script");
          html = html.replace(tag, () => `<script type="module">${code}</script>`);
        } else if (out.type === "asset" && name.endsWith(".css")) {
          const tag = new RegExp(`<link rel="stylesheet" crossorigin href="\\./${escape(name)}">`);
          if (!tag.test(html)) throw new Error(`playground build: no <link> tag for ${name} in index.html`);
          html = html.replace(tag, () => `<style>${readFileSync(file, "utf8")}</style>`);
        } else continue;
        rmSync(file);
      }
      writeFileSync(htmlPath, html);
      const assets = join(dir, "assets");
      if (existsSync(assets) && readdirSync(assets).length === 0) rmSync(assets, { recursive: true });
    },
  };
}

/** The shipped image models the Images panel offers, fetched by the page at ./models/NAME (relative: any host). */
export const SHIPPED_MODELS = ["mnist-realnvp.nflow", "mnist-nice.nflow"];
const modelsDir = fileURLToPath(new URL("../models/", import.meta.url));
const DIGITS_ID = "virtual:shipped-digits";

/**
 * The Images panel's data. The shipped models are copied into the site as web/dist/models/*.nflow
 * (and served from ../models/ by the dev server); the page fetches them by relative URL, which a
 * page opened from file:// cannot do, so it also takes a model file. The 100 shipped test digits
 * (15 KB gzipped) are gunzipped here and travel inside the script as base64
 * (`import { images, labels } from "virtual:shipped-digits"`), so they load from file:// too.
 */
function shippedData(): Plugin {
  const resolved = `\0${DIGITS_ID}`;
  return {
    name: "playground-shipped-data",
    resolveId: (id) => (id === DIGITS_ID ? resolved : undefined),
    load(id) {
      if (id !== resolved) return undefined;
      const read = (name: string): string => gunzipSync(readFileSync(join(modelsDir, name))).toString("base64");
      return `export const images = ${JSON.stringify(read("t10k-0-99-images-idx3-ubyte.gz"))};\nexport const labels = ${JSON.stringify(read("t10k-0-99-labels-idx1-ubyte.gz"))};\n`;
    },
    generateBundle() {
      for (const name of SHIPPED_MODELS) this.emitFile({ type: "asset", fileName: `models/${name}`, source: readFileSync(join(modelsDir, name)) });
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = /^\/models\/([\w.-]+)$/.exec((req.url ?? "").split("?")[0]!)?.[1];
        if (!name || !SHIPPED_MODELS.includes(name)) return next();
        res.setHeader("content-type", "application/octet-stream");
        res.end(readFileSync(join(modelsDir, name)));
      });
    },
  };
}

export default defineConfig({
  plugins: [shippedData(), inlineIntoHtml()],
  root,
  base: "./",
  resolve: { alias: [{ find: /^normalizing-flows$/, replacement: browserEntry }] },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000, rollupOptions: { output: { codeSplitting: false } } },
  server: { port: 5180 },
  preview: { port: 5180 },
});
