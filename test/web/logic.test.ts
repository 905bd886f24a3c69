// The playground's logic without a browser: settings, data parsing, the pause gate, the lesson's
// words. web/src/logic.ts imports "normalizing-flows" as the page does (the package itself, here
// through Node's self-reference to the built dist/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Brush,
  csvPoints,
  determinantNote,
  dragValue,
  enabledButtons,
  fitOptions,
  LossHistory,
  modelSettings,
  parseHidden,
  PauseGate,
  SettingsError,
  toyPoints,
} from "../../web/src/logic.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const FORM = { flow: "realnvp", layers: "6", hidden: "32, 32", lr: "0.005", batch: "256", clip: "5" };

test("playground settings: the form becomes fit's config and options; bad fields are named", () => {
  const s = modelSettings(FORM);
  assert.deepEqual(s.config, { flow: "realnvp", layers: 6, hidden: [32, 32] });
  assert.deepEqual(fitOptions(s, 1000, 25), { steps: 1000, lr: 0.005, batchSize: 256, clipNorm: 5, evalEvery: 25, seed: 0, restoreBest: false, source: "playground" });
  assert.equal("clipNorm" in fitOptions(modelSettings({ ...FORM, clip: " " }), 10, 5), false, "empty: no clipping");
  assert.throws(() => modelSettings({ ...FORM, clip: "0" }), /clip norm/);
  assert.deepEqual(parseHidden("64 x 64"), [64, 64]);
  assert.throws(() => parseHidden("32, a"), (e: unknown) => e instanceof SettingsError && /hidden sizes.*"a"/.test(e.message));
  assert.throws(() => modelSettings({ ...FORM, flow: "glow" }), /flow: expected one of realnvp, nice, maf, iaf/);
  assert.throws(() => modelSettings({ ...FORM, layers: "0" }), /layers: expected a whole number from 1 to 32/);
  assert.throws(() => modelSettings({ ...FORM, lr: "-1" }), /learning rate/);
  assert.throws(() => modelSettings({ ...FORM, batch: "1.5" }), /batch/);
});

test("playground data: toys, a dropped CSV (header, comments, extra columns), a drawing", () => {
  const moons = toyPoints("moons", 500);
  assert.equal(moons.n, 500);
  assert.equal(moons.x.length, 1000);
  assert.deepEqual(toyPoints("moons", 500).x, moons.x, "seeded");
  const rows = Array.from({ length: 12 }, (_, i) => `${i + 1},${-(i + 1)},${i * i}`);
  const csv = csvPoints(`# made by hand\nx,y,z\n${rows.join("\n")}\n\n`, "table.csv");
  assert.equal(csv.n, 12);
  assert.deepEqual(Array.from(csv.x.slice(0, 4)), [1, -1, 2, -2]);
  assert.match(csv.source, /table\.csv \(columns 1–2 of 3\), 1 line skipped/);
  assert.equal(csvPoints(rows.map((r) => r.replaceAll(",", "\t")).join("\n")).n, 12, "tabs");
  assert.throws(() => csvPoints("1\n2\n3\n", "one.csv"), /one\.csv: the playground draws 2-D data, this CSV has 1 column/);
  assert.throws(() => csvPoints("1,2\n3,4\n", "short.csv"), /short\.csv: expected at least 10 rows of two numbers, got 2/);
  const brush = new Brush(3, 5, 0.1);
  brush.add(1, 2);
  brush.add(-1, 0);
  const drawn = brush.points();
  assert.equal(drawn.n, 10);
  const meanX = Array.from({ length: 5 }, (_, i) => drawn.x[2 * i]!).reduce((a, b) => a + b) / 5;
  assert.ok(Math.abs(meanX - 1) < 0.2, `points scatter around the pen: ${meanX}`);
  brush.clear();
  assert.equal(brush.n, 0);
});

test("playground buttons and the pause gate: Pause waits at the next evaluation, Step lets one interval run", async () => {
  assert.deepEqual(enabledButtons("idle"), { train: true, pause: false, step: true, reset: false });
  assert.deepEqual(enabledButtons("training"), { train: false, pause: true, step: false, reset: true });
  assert.deepEqual(enabledButtons("paused"), { train: true, pause: false, step: true, reset: true });
  assert.deepEqual(enabledButtons("done"), { train: false, pause: false, step: false, reset: true });
  const gate = new PauseGate();
  await gate.checkpoint(); // running: settles at once
  gate.pause();
  let passed = 0;
  const waiting = gate.checkpoint().then(() => passed++);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(passed, 0, "paused: training waits");
  gate.step();
  await waiting;
  assert.equal(passed, 1);
  // after Step: the next evaluation pauses again
  let second = 0;
  const again = gate.checkpoint().then(() => second++);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(second, 0);
  gate.resume();
  await again;
  await gate.checkpoint();
  assert.equal(gate.isPaused, false);
});

test("playground loss history and the lesson's words", () => {
  const h = new LossHistory();
  h.add({ step: 10, trainLoss: 3 });
  h.add({ step: 20, trainLoss: 2, valLoss: 2.1 });
  h.add({ step: 30, trainLoss: NaN, valLoss: Infinity });
  assert.deepEqual([h.steps, h.train, h.valSteps, h.val], [[10, 20], [3, 2], [20], [2.1]]);
  assert.deepEqual(h.firstAndLast(1), [3, 2]);
  assert.equal(determinantNote(4).kind, "positive");
  assert.match(determinantNote(-2).text, /flips orientation.*\|det A\| = 2/);
  assert.match(determinantNote(0).text, /no density/);
  assert.equal(determinantNote(1e-12).kind, "zero");
  assert.equal(dragValue(2, 0), 2);
  assert.equal(dragValue(2, 10), 2.2);
  assert.equal(dragValue(2, -1000), -4);
  assert.equal(dragValue(0.5, 1), 0.5, "snapped to 0.05");
});

test("playground sources type-check against the package's browser types (web/tsconfig.json)", () => {
  const r = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "web/tsconfig.json")], { encoding: "utf8" });
  assert.equal(r.status, 0, `tsc -p web/tsconfig.json:\n${r.stdout}${r.stderr}`);
});
