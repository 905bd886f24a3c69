// The playground's build: a static site with relative paths (base "./"), so web/dist works from
// any static host or a file server. `normalizing-flows` resolves to this repository's package:
// the file its exports map gives bundlers under the "browser" condition (dist/browser.js, built by
// `npm run build`), the module a user's app gets from the installed package. Nothing here imports src/.
import { defineConfig, type Plugin } from "vite";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

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

export default defineConfig({
  plugins: [inlineIntoHtml()],
  root,
  base: "./",
  resolve: { alias: [{ find: /^normalizing-flows$/, replacement: browserEntry }] },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000, rollupOptions: { output: { codeSplitting: false } } },
  server: { port: 5180 },
  preview: { port: 5180 },
});
