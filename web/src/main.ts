/**
 * The playground page: wires the form, the buttons and the views to a training Session. Training
 * runs on the page's thread in short async slices (fit awaits every step and yields to the event
 * loop every ~50 ms), so the page never freezes; views are redrawn at evaluations, at most about
 * twice a second while training, and at once when paused.
 */
import { FlowModel, initEngine, plot, type Device, type ProgressEvent } from "normalizing-flows";
import { Brush, csvPoints, enabledButtons, formatRate, LossHistory, modelSettings, SettingsError, toyPoints, TOYS, type PointSet, type RunState } from "./logic.js";
import { Session } from "./session.js";
import { dataBounds, drawDensity, drawLayer, drawLoss, drawSamples, layerStages, placeholder, show, thin, type LayerStages } from "./views.js";
import { mountLesson } from "./lesson.js";
import { mountImages } from "./images.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: #${id} is missing from index.html`);
  return el as T;
};

const ui = {
  device: $("device"),
  status: $("status"),
  dataSource: $<HTMLSelectElement>("data-source"),
  dataCount: $<HTMLInputElement>("data-count"),
  drawPad: $("draw-pad"),
  drawClear: $<HTMLButtonElement>("draw-clear"),
  csvInput: $<HTMLInputElement>("csv-input"),
  dataNote: $("data-note"),
  flow: $<HTMLSelectElement>("flow"),
  layers: $<HTMLInputElement>("layers"),
  hidden: $<HTMLInputElement>("hidden"),
  lr: $<HTMLInputElement>("lr"),
  batch: $<HTMLInputElement>("batch"),
  clip: $<HTMLInputElement>("clip"),
  evalEvery: $<HTMLInputElement>("eval-every"),
  train: $<HTMLButtonElement>("train"),
  pause: $<HTMLButtonElement>("pause"),
  step: $<HTMLButtonElement>("step"),
  reset: $<HTMLButtonElement>("reset"),
  exportButton: $<HTMLButtonElement>("export"),
  importInput: $<HTMLInputElement>("import"),
  loss: $("loss"),
  density: $("density"),
  samples: $("samples"),
  layers2: $("layers-view"),
  layerSlider: $<HTMLInputElement>("layer-slider"),
  layerDirection: $<HTMLSelectElement>("layer-direction"),
};

// ---- device ---------------------------------------------------------------------------------

const requested = new URLSearchParams(location.search).get("device");
const device: Device = await initEngine(requested === "wasm" || requested === "webgpu" || requested === "cpu" ? requested : undefined);
const hasWebGPU = typeof navigator !== "undefined" && "gpu" in navigator;
function showDevice(stepsPerSec = 0): void {
  const why = device === "webgpu" ? "WebGPU" : hasWebGPU && requested !== "wasm" ? "wasm (no WebGPU adapter)" : requested === "wasm" ? "wasm (chosen)" : "wasm (this browser has no WebGPU)";
  ui.device.textContent = `Device: ${why} · ${formatRate(stepsPerSec)} steps/s`;
  ui.device.dataset.device = device;
}
showDevice();
for (const a of document.querySelectorAll<HTMLAnchorElement>("a[data-device]")) a.href = `?device=${a.dataset.device}`;

// ---- data -----------------------------------------------------------------------------------

for (const t of TOYS) ui.dataSource.add(new Option(t, t, t === "moons", t === "moons"));
ui.dataSource.add(new Option("draw with the mouse", "draw"));
ui.dataSource.add(new Option("CSV file (or drop one on the page)", "csv"));

const brush = new Brush(7);
const PAD_BOUNDS: plot.Bounds = [[-4, 4], [-4, 4]];
let csvData: PointSet | undefined;
let data: PointSet = toyPoints("moons", 2000);

function currentData(): PointSet {
  const source = ui.dataSource.value;
  if (source === "draw") return brush.points();
  if (source === "csv") {
    if (!csvData) throw new SettingsError("data: choose a CSV file or drop one on the page");
    return csvData;
  }
  const n = Number(ui.dataCount.value);
  if (!Number.isInteger(n) || n < 100 || n > 20000) throw new SettingsError(`points: expected a whole number from 100 to 20000, got "${ui.dataCount.value}"`);
  return toyPoints(source, n);
}

/** The drawing pad: plot.Axes on a canvas; dragging adds points around the pointer. */
const pad = plot.browserCanvasFactory.create(420, 420) as { canvas: HTMLCanvasElement; ctx: plot.Ctx2D };
let padAxes: plot.Axes;
function drawPad(): void {
  pad.ctx.fillStyle = "#ffffff";
  pad.ctx.fillRect(0, 0, 420, 420);
  padAxes = new plot.Axes(pad.ctx, { x: 0, y: 0, w: 420, h: 420 }, { xlim: PAD_BOUNDS[0], ylim: PAD_BOUNDS[1], equal: true, ticks: 5, title: `${brush.n} points: drag to draw` });
  padAxes.drawGrid();
  const pts = brush.points();
  if (pts.n > 0) plot.drawScatter(padAxes, pts.x, { color: "#2a6f97", radius: 2, alpha: 0.6 });
  padAxes.drawFrame();
}
pad.canvas.classList.add("pad");
ui.drawPad.prepend(pad.canvas);
drawPad();
let drawing = false;
const addAt = (e: PointerEvent): void => {
  const r = pad.canvas.getBoundingClientRect();
  const [x, y] = padAxes.toData(((e.clientX - r.left) * 420) / r.width, ((e.clientY - r.top) * 420) / r.height);
  if (x < PAD_BOUNDS[0][0] || x > PAD_BOUNDS[0][1] || y < PAD_BOUNDS[1][0] || y > PAD_BOUNDS[1][1]) return;
  brush.add(x, y);
};
pad.canvas.addEventListener("pointerdown", (e) => {
  drawing = true;
  pad.canvas.setPointerCapture(e.pointerId);
  addAt(e);
  drawPad();
});
pad.canvas.addEventListener("pointermove", (e) => {
  if (!drawing) return;
  addAt(e);
  drawPad();
});
pad.canvas.addEventListener("pointerup", () => {
  drawing = false;
  dataChanged();
});
ui.drawClear.addEventListener("click", () => {
  brush.clear();
  drawPad();
  dataChanged();
});

async function loadCsv(file: File): Promise<void> {
  try {
    csvData = csvPoints(await file.text(), file.name);
    ui.dataSource.value = "csv";
    dataChanged();
  } catch (e) {
    report(e);
  }
}
ui.csvInput.addEventListener("change", () => {
  const f = ui.csvInput.files?.[0];
  if (f) void loadCsv(f);
});
document.addEventListener("dragover", (e) => {
  e.preventDefault();
  document.body.classList.add("dropping");
});
document.addEventListener("dragleave", () => document.body.classList.remove("dropping"));
document.addEventListener("drop", (e) => {
  e.preventDefault();
  document.body.classList.remove("dropping");
  const f = e.dataTransfer?.files[0];
  if (f) void loadCsv(f);
});

/** New data: the run restarts (a model of other data means nothing here); the preview shows it. */
function dataChanged(): void {
  const source = ui.dataSource.value;
  ui.drawPad.hidden = source !== "draw";
  ui.csvInput.hidden = source !== "csv";
  ui.dataCount.disabled = source === "draw" || source === "csv";
  try {
    data = currentData();
    ui.dataNote.textContent = `${data.n} points · ${data.source}`;
    void resetRun();
  } catch (e) {
    ui.dataNote.textContent = e instanceof Error ? e.message : String(e);
  }
}
ui.dataSource.addEventListener("change", dataChanged);
ui.dataCount.addEventListener("change", dataChanged);

// ---- the run --------------------------------------------------------------------------------

let session: Session | undefined;
let imported: FlowModel | undefined;
let stages: LayerStages | undefined;
let lastDraw = 0;
let drawingViews: Promise<void> = Promise.resolve();
let pausedWaiters: (() => void)[] = [];

function report(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  ui.status.textContent = message;
  ui.status.dataset.kind = "error";
}

function status(text: string): void {
  ui.status.textContent = text;
  ui.status.dataset.kind = "info";
}

function setButtons(state: RunState): void {
  const on = enabledButtons(state);
  ui.train.disabled = !on.train;
  ui.pause.disabled = !on.pause;
  ui.step.disabled = !on.step;
  ui.reset.disabled = !on.reset && !imported;
  ui.exportButton.disabled = !(state === "paused" || state === "done" || state === "training" || imported);
  document.body.dataset.state = state;
}

/** The model the views show: the paused run's, the finished run's, or an imported one. */
function viewModel(): FlowModel | undefined {
  return session?.current ?? session?.finished ?? imported;
}

async function drawViews(model: FlowModel, layersToo = true): Promise<void> {
  const bounds = dataBounds(data);
  const toy = TOYS.includes(ui.dataSource.value) ? ui.dataSource.value : undefined;
  if (session) drawLoss(ui.loss, session.history, toy);
  else if (model.training) drawLoss(ui.loss, historyOf(model), toy);
  await drawDensity(ui.density, model, data, bounds);
  await drawSamples(ui.samples, model, data, bounds);
  if (layersToo) {
    stages = await layerStages(model, data, ui.layerDirection.value === "inverse" ? "inverse" : "forward");
    const S = stages.stages.length;
    ui.layerSlider.max = String(S - 1);
    if (Number(ui.layerSlider.value) > S - 1 || ui.layerSlider.dataset.touched !== "1") ui.layerSlider.value = String(ui.layerDirection.value === "inverse" ? 0 : S - 1);
    drawLayer(ui.layers2, stages, Number(ui.layerSlider.value));
  }
}

/** The loss curves of a model file's training record (an imported model). */
function historyOf(model: FlowModel): LossHistory {
  const h = new LossHistory();
  const t = model.training!.history;
  t.step.forEach((step, i) => h.add({ step, trainLoss: t.trainLoss[i] ?? NaN, ...(t.valLoss[i] != null ? { valLoss: t.valLoss[i]! } : {}) }));
  return h;
}

async function onCheckpoint(model: FlowModel, event: ProgressEvent): Promise<void> {
  showDevice(session?.stepsPerSec ?? 0);
  status(`step ${event.step} · training loss ${event.trainLoss.toFixed(3)}${event.valLoss !== undefined ? ` · validation ${event.valLoss.toFixed(3)}` : ""}`);
  const toy = TOYS.includes(ui.dataSource.value) ? ui.dataSource.value : undefined;
  if (session) drawLoss(ui.loss, session.history, toy);
  const now = performance.now();
  if (now - lastDraw > 500 || session?.gate.isPaused) {
    drawingViews = drawViews(model);
    await drawingViews;
    lastDraw = performance.now();
  }
}

function onState(state: RunState): void {
  setButtons(state);
  if (state === "paused") {
    pausedWaiters.forEach((w) => w());
    pausedWaiters = [];
    status(`paused at step ${session?.steps ?? 0}`);
  }
  if (state === "done" && session) {
    if (session.error) report(session.error);
    else status(`done: ${session.steps} steps. ${session.finished?.training?.message ?? ""}`);
    const m = session.finished;
    if (m) void drawViews(m);
  }
}

function newSession(): Session {
  const settings = modelSettings({ flow: ui.flow.value, layers: ui.layers.value, hidden: ui.hidden.value, lr: ui.lr.value, batch: ui.batch.value, clip: ui.clip.value });
  const every = Number(ui.evalEvery.value);
  if (!Number.isInteger(every) || every < 1 || every > 1000) throw new SettingsError(`view every: expected a whole number of steps from 1 to 1000, got "${ui.evalEvery.value}"`);
  if (data.n < 10) throw new SettingsError(`data: expected at least 10 points, got ${data.n}${ui.dataSource.value === "draw" ? " (draw some on the pad)" : ""}`);
  return new Session(data, settings, every, { onCheckpoint, onState });
}

async function resetRun(): Promise<void> {
  const old = session;
  session = undefined;
  stages = undefined;
  await old?.reset();
  imported?.dispose();
  imported = undefined;
  setButtons("idle");
  ui.loss.replaceChildren(placeholder("Training and validation loss appear here once training starts."));
  ui.density.replaceChildren(placeholder("The model's density appears here while it trains."));
  ui.layers2.replaceChildren(placeholder("The flow layer by layer appears here while it trains."));
  show(
    ui.samples,
    plot.scatterFigure(plot.browserCanvasFactory, {
      title: "The data",
      panels: [{ series: [{ points: thin(data, 2000), label: "data", color: "#2a6f97", radius: 2, alpha: 0.5 }] }],
      bounds: dataBounds(data),
      width: 640,
      height: 560,
    }),
  );
  status("ready: press Train (or Step for one interval)");
}

function withSession(action: (s: Session) => void): void {
  try {
    if (!session) {
      imported?.dispose();
      imported = undefined;
      session = newSession();
    }
    action(session);
  } catch (e) {
    report(e);
  }
}

ui.train.addEventListener("click", () => withSession((s) => s.train()));
ui.step.addEventListener("click", () => withSession((s) => s.step()));
ui.pause.addEventListener("click", () => session?.pause());
ui.reset.addEventListener("click", () => void resetRun());
for (const el of [ui.flow, ui.layers, ui.hidden, ui.lr, ui.batch, ui.clip, ui.evalEvery])
  el.addEventListener("change", () => {
    if (session) {
      void resetRun();
      status("settings changed: the run was reset; press Train");
    }
  });

ui.layerSlider.addEventListener("input", () => {
  ui.layerSlider.dataset.touched = "1";
  if (stages) drawLayer(ui.layers2, stages, Number(ui.layerSlider.value));
});
ui.layerDirection.addEventListener("change", () => {
  ui.layerSlider.dataset.touched = "0";
  const m = viewModel();
  if (m && session?.state !== "training") drawingViews = drawViews(m).catch(report);
});

// ---- export / import ------------------------------------------------------------------------

function whenPaused(): Promise<void> {
  if (!session || session.state !== "training") return Promise.resolve();
  session.pause();
  return new Promise((resolve) => pausedWaiters.push(resolve));
}

async function exportModel(): Promise<void> {
  await whenPaused();
  const model = viewModel();
  if (!model) throw new SettingsError("export: there is no model yet; train one first");
  const bytes = await model.toBytesAsync();
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = `playground-${model.config.flow}-${session?.steps ?? 0}.nflow`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  status(`exported ${a.download} (${bytes.length} bytes): load it with nflow (eval, sample, plot …) or FlowModel.fromBytes`);
}
ui.exportButton.addEventListener("click", () => void exportModel().catch(report));

ui.importInput.addEventListener("change", async () => {
  const f = ui.importInput.files?.[0];
  if (!f) return;
  try {
    const model = FlowModel.fromBytes(new Uint8Array(await f.arrayBuffer()), f.name);
    if (model.dim !== 2 || model.contextDim !== 0) {
      model.dispose();
      throw new SettingsError(`${f.name}: the playground shows unconditional 2-D models; this one has dim ${model.dim}${model.contextDim ? ` and a context of ${model.contextDim}` : ""}`);
    }
    await resetRun();
    imported = model;
    setButtons("idle");
    await drawViews(model);
    status(`imported ${f.name}: ${model.config.flow}, ${model.config.layers} layers${model.training ? `, trained ${model.training.steps} steps` : ""}. Train starts a new model with the settings on the left.`);
  } catch (e) {
    report(e);
  } finally {
    ui.importInput.value = "";
  }
});

// ---- the lesson, and the test hook ----------------------------------------------------------

mountLesson($("lesson"));
const images = mountImages($("images"));
dataChanged();

/** For tests and the console: the page's state and its model's numbers (async reads). */
(globalThis as unknown as { playground: unknown }).playground = {
  device,
  images,
  state: () => session?.state ?? "idle",
  steps: () => session?.steps ?? 0,
  stepsPerSec: () => session?.stepsPerSec ?? 0,
  losses: () => ({ train: session?.history.train ?? [], val: session?.history.val ?? [] }),
  logProb: async (points: number[][]) => Array.from(await viewModel()!.logProbAsync(points)),
  drawn: () => drawingViews,
  /** What the synchronous logProb says on this device ("" when it works: wasm). */
  syncLogProbError: () => {
    try {
      viewModel()!.logProb([[0, 0]]);
      return "";
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  },
};
document.body.dataset.ready = "1";
