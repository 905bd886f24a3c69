/**
 * The Images panel: load a shipped MNIST model (fetched from the site at ./models/NAME, or a
 * model file chosen on the page), draw a digit on a 28×28 grid or pick a shipped test digit,
 * paint the hidden region (or pick one of the library's ten masks), and inpaint it with the
 * library's inpainting (MAP gradient ascent on the hidden pixels, `inpaint`, the function behind
 * `nflow inpaint`, through an `Inpainter` that keeps the compiled ascent for the next Inpaint under
 * the same model). It reads asynchronously and yields to the event loop every ~50 ms, so
 * the page keeps drawing its progress; Stop aborts it. The result is drawn by `plot.imageGridFigure`,
 * the CLI's picture of inpainting.
 */
import { FlowModel, Inpainter, INPAINTING_MASKS, MASK_TITLES, plot, type InpaintingMask } from "normalizing-flows";
import { images as digitsB64, labels as labelsB64 } from "virtual:shipped-digits";
import { DigitImage, editorRGBA, formatLogProb, fromBase64, PIXELS, SIDE, testDigits, toGrid } from "./digits.js";
import { placeholder, show } from "./views.js";

/** The built-in models: files next to the page (web/vite.config.ts copies them into the site). */
const BUILT_IN: Record<string, { file: string; title: string }> = {
  nice: { file: "mnist-nice.nflow", title: "NICE, fast (2.4 MB)" },
  realnvp: { file: "mnist-realnvp.nflow", title: "RealNVP, slow (0.4 MB)" },
};

/** What the test hook reads after an inpainting. */
export interface InpaintOutcome {
  /** The 784 pixel values given to inpaint (the digit as the model sees it). */
  original: number[];
  hidden: number[];
  restored: number[];
  logProbStart: number;
  logProbEnd: number;
  logProbOriginal: number;
  steps: number;
  /** Wall time of the whole call (compilation included) and per step after the first, ms. */
  ms: number;
  msPerStep: number;
}

export interface ImagesHook {
  /** "idle" | "loading" | "ready" | "running" | "error". */
  state(): string;
  model(): string;
  /** The editor's digit bytes and hidden region now. */
  digit(): { bytes: number[]; hidden: number[] };
  outcome(): InpaintOutcome | undefined;
}

export function mountImages(root: HTMLElement): ImagesHook {
  const q = <T extends HTMLElement>(sel: string): T => {
    const el = root.querySelector<T>(sel);
    if (!el) throw new Error(`playground: ${sel} is missing from the Images panel`);
    return el;
  };
  const ui = {
    modelPick: q<HTMLSelectElement>("#image-model"),
    load: q<HTMLButtonElement>("#image-load"),
    file: q<HTMLInputElement>("#image-file"),
    modelNote: q<HTMLElement>("#image-model-note"),
    digitPick: q<HTMLSelectElement>("#digit-pick"),
    digitClear: q<HTMLButtonElement>("#digit-clear"),
    tools: [...root.querySelectorAll<HTMLInputElement>("input[name='digit-tool']")],
    brush: q<HTMLInputElement>("#mask-brush"),
    pattern: q<HTMLSelectElement>("#mask-pattern"),
    maskClear: q<HTMLButtonElement>("#mask-clear"),
    editorBox: q<HTMLElement>("#digit-editor"),
    editorNote: q<HTMLElement>("#digit-note"),
    steps: q<HTMLInputElement>("#inpaint-steps"),
    lr: q<HTMLInputElement>("#inpaint-lr"),
    run: q<HTMLButtonElement>("#inpaint"),
    stop: q<HTMLButtonElement>("#inpaint-stop"),
    progress: q<HTMLProgressElement>("#inpaint-progress"),
    status: q<HTMLElement>("#inpaint-status"),
    result: q<HTMLElement>("#inpaint-result"),
  };

  let state = "idle";
  let model: FlowModel | undefined;
  let inpainter: Inpainter | undefined;
  let modelName = "";
  let outcome: InpaintOutcome | undefined;
  let abort: AbortController | undefined;
  const image = new DigitImage();
  const digits = testDigits(fromBase64(digitsB64), fromBase64(labelsB64));

  const say = (el: HTMLElement, text: string, kind: "info" | "error" = "info"): void => {
    el.textContent = text;
    el.dataset.kind = kind;
  };
  const fail = (el: HTMLElement, e: unknown): void => say(el, e instanceof Error ? e.message : String(e), "error");
  const setState = (s: string): void => {
    state = s;
    root.dataset.state = s;
    ui.run.disabled = s === "running" || s === "loading";
    ui.load.disabled = s === "running" || s === "loading";
    ui.stop.disabled = s !== "running";
  };

  // ---- the model -----------------------------------------------------------------------------

  for (const [value, m] of Object.entries(BUILT_IN)) ui.modelPick.add(new Option(m.title, value));

  /** Takes a model if it is one inpainting can use (784 pixels, unconditional, dequantised). */
  function adopt(next: FlowModel, name: string): void {
    const why =
      state === "running"
        ? "an inpainting is running under the current model: stop it first"
        : next.dim !== PIXELS
        ? `it models ${next.dim} values, not 28×28 = ${PIXELS} pixels`
        : next.contextDim > 0
          ? `it is conditional (a context of ${next.contextDim}); inpainting needs an unconditional model`
          : !next.dataInfo?.dequantization
            ? "it was not trained on dequantised pixels, so its density is not on [0, 1]^784"
            : "";
    if (why) {
      next.dispose();
      throw new Error(`${name}: ${why}`);
    }
    inpainter?.dispose();
    model?.dispose();
    model = next;
    inpainter = new Inpainter(next);
    modelName = name;
    say(ui.modelNote, `${name}: ${next.config.flow}, ${next.config.layers} layers${next.training ? `, trained ${next.training.steps} steps` : ""}. Ready to inpaint.`);
  }

  async function loadBuiltIn(): Promise<void> {
    const m = BUILT_IN[ui.modelPick.value]!;
    const url = new URL(`models/${m.file}`, document.baseURI).href;
    say(ui.modelNote, `loading ${m.file} …`);
    let bytes: Uint8Array;
    try {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      bytes = new Uint8Array(await r.arrayBuffer());
    } catch (e) {
      const fromDisk = location.protocol === "file:";
      throw new Error(
        `could not fetch models/${m.file} (${e instanceof Error ? e.message : String(e)})` +
          (fromDisk ? ": a page opened from file:// cannot fetch files. " : ". ") +
          `Choose the model file instead ("Model file…": models/${m.file} of the package), or serve the site (python3 -m http.server).`,
      );
    }
    adopt(FlowModel.fromBytes(bytes, m.file), m.file);
  }

  async function ensureModel(): Promise<FlowModel> {
    if (model && modelName === BUILT_IN[ui.modelPick.value]?.file) return model;
    if (model && ui.modelPick.value === "file") return model;
    setState("loading");
    try {
      await loadBuiltIn();
    } catch (e) {
      fail(ui.modelNote, e);
      throw e;
    } finally {
      setState(model ? "ready" : "error");
    }
    return model!;
  }

  ui.load.addEventListener("click", () => {
    void ensureModel().catch((e) => fail(ui.modelNote, e));
  });
  ui.modelPick.addEventListener("change", () => {
    const file = BUILT_IN[ui.modelPick.value]?.file;
    if (file && file !== modelName) say(ui.modelNote, `${file}: press Load (or Inpaint, which loads it first).`);
    else if (model) say(ui.modelNote, `${modelName}: loaded. Ready to inpaint.`);
  });
  ui.file.addEventListener("change", async () => {
    const f = ui.file.files?.[0];
    if (!f) return;
    try {
      adopt(FlowModel.fromBytes(new Uint8Array(await f.arrayBuffer()), f.name), f.name);
      if (![...ui.modelPick.options].some((o) => o.value === "file")) ui.modelPick.add(new Option("the chosen model file", "file"));
      ui.modelPick.value = "file";
      setState("ready");
    } catch (e) {
      fail(ui.modelNote, e);
    } finally {
      ui.file.value = "";
    }
  });

  // ---- the digit and its hidden region -------------------------------------------------------

  ui.digitPick.add(new Option("drawn (pen)", "draw"));
  for (let i = 0; i < digits.n; i++) ui.digitPick.add(new Option(`test digit ${i} (a ${digits.labels[i]})`, String(i)));
  ui.pattern.add(new Option("painted (brush)", "painted"));
  for (const m of INPAINTING_MASKS) ui.pattern.add(new Option(MASK_TITLES[m], m));

  const EDITOR = 336; // 12 screen pixels per image pixel
  const editor = document.createElement("canvas");
  editor.width = SIDE;
  editor.height = SIDE;
  editor.className = "digit-canvas";
  editor.style.width = editor.style.height = `${EDITOR}px`;
  ui.editorBox.prepend(editor);
  const ectx = editor.getContext("2d")!;

  function redraw(): void {
    ectx.putImageData(new ImageData(editorRGBA(image) as Uint8ClampedArray<ArrayBuffer>, SIDE, SIDE), 0, 0);
    say(ui.editorNote, `${image.source} · ${image.hiddenCount} of ${PIXELS} pixels hidden (orange)`);
  }

  function pickDigit(): void {
    const v = ui.digitPick.value;
    if (v === "draw") image.clearDigit();
    else {
      const i = Number(v);
      image.setDigit(digits.images.subarray(i * PIXELS, (i + 1) * PIXELS), `test digit ${i} (a ${digits.labels[i]})`);
    }
    redraw();
  }
  function pickPattern(): void {
    if (ui.pattern.value !== "painted") image.setPattern(ui.pattern.value as InpaintingMask);
    redraw();
  }
  ui.digitPick.addEventListener("change", pickDigit);
  ui.pattern.addEventListener("change", pickPattern);
  ui.digitClear.addEventListener("click", () => {
    ui.digitPick.value = "draw";
    pickDigit();
    setTool("ink");
  });
  ui.maskClear.addEventListener("click", () => {
    image.clearHidden();
    ui.pattern.value = "painted";
    redraw();
  });

  const tool = (): string => ui.tools.find((t) => t.checked)?.value ?? "ink";
  function setTool(value: string): void {
    for (const t of ui.tools) t.checked = t.value === value;
  }
  let last: [number, number] | undefined;
  const at = (e: PointerEvent): [number, number] => {
    const r = editor.getBoundingClientRect();
    return toGrid(e.clientX - r.left, e.clientY - r.top, r.width, r.height);
  };
  const paintTo = (p: [number, number]): void => {
    const from = last ?? p;
    const t = tool();
    if (t === "ink") {
      if (ui.digitPick.value !== "draw") ui.digitPick.value = "draw";
      image.stroke(from[0], from[1], p[0], p[1]);
    } else {
      image.paint(from[0], from[1], p[0], p[1], Number(ui.brush.value) || 2, t === "hide");
      ui.pattern.value = "painted";
    }
    last = p;
    redraw();
  };
  editor.addEventListener("pointerdown", (e) => {
    editor.setPointerCapture(e.pointerId);
    last = undefined;
    paintTo(at(e));
  });
  editor.addEventListener("pointermove", (e) => {
    if (last) paintTo(at(e));
  });
  const end = (): void => {
    last = undefined;
  };
  editor.addEventListener("pointerup", end);
  editor.addEventListener("pointercancel", end);

  // ---- inpainting ----------------------------------------------------------------------------

  function readNumber(input: HTMLInputElement, what: string, lo: number, hi: number, whole: boolean): number {
    const v = Number(input.value);
    if (!(Number.isFinite(v) && v >= lo && v <= hi && (!whole || Number.isInteger(v))))
      throw new Error(`${what}: expected ${whole ? "a whole number" : "a number"} from ${lo} to ${hi}, got "${input.value}"`);
    return v;
  }

  async function run(): Promise<void> {
    const steps = readNumber(ui.steps, "steps", 1, 5000, true);
    const lr = readNumber(ui.lr, "learning rate", 1e-4, 1, false);
    if (image.hiddenCount === 0) throw new Error("nothing is hidden: paint the region to inpaint with the brush, or pick a mask");
    const m = await ensureModel();
    const original = image.pixels();
    const hidden = Uint8Array.from(image.hidden);
    const source = image.source;
    abort = new AbortController();
    setState("running");
    ui.progress.value = 0;
    say(ui.status, `compiling the ascent for ${modelName} (the first step takes a few seconds) …`);
    const t0 = performance.now();
    let tFirst = 0;
    try {
      const r = await inpainter!.run(original, hidden, {
        steps,
        lr,
        signal: abort.signal,
        onProgress: (done, total) => {
          if (done === 1) tFirst = performance.now();
          ui.progress.value = done / total;
          say(ui.status, `step ${done} of ${total} …`);
        },
      });
      const ms = performance.now() - t0;
      const msPerStep = steps > 1 ? (performance.now() - tFirst) / (steps - 1) : ms;
      const [lpOriginal] = await m.logProbAsync(original);
      outcome = {
        original: Array.from(original),
        hidden: Array.from(hidden),
        restored: Array.from(r.x),
        logProbStart: r.logProbStart[0]!,
        logProbEnd: r.logProbEnd[0]!,
        logProbOriginal: lpOriginal!,
        steps,
        ms,
        msPerStep,
      };
      drawResult(outcome, source);
      say(
        ui.status,
        `log p: ${formatLogProb(outcome.logProbStart)} nats with the hidden pixels at 0.5 → ${formatLogProb(outcome.logProbEnd)} after ${steps} steps ` +
          `(the digit as given: ${formatLogProb(lpOriginal!)}) · ${(ms / 1000).toFixed(1)} s, ${msPerStep.toFixed(0)} ms per step`,
      );
    } catch (e) {
      if (abort.signal.aborted) say(ui.status, "stopped: press Inpaint to start again");
      else throw e;
    } finally {
      abort = undefined;
      setState("ready");
    }
  }

  function drawResult(o: InpaintOutcome, source: string): void {
    const masked = o.original.map((v, i) => (o.hidden[i] ? 0.5 : v));
    const all = new Float64Array(3 * PIXELS);
    all.set(o.original, 0);
    all.set(masked, PIXELS);
    all.set(o.restored, 2 * PIXELS);
    show(
      ui.result,
      plot.imageGridFigure(plot.browserCanvasFactory, {
        images: all,
        imageHeight: SIDE,
        imageWidth: SIDE,
        cols: 3,
        scale: 8,
        labels: [`original: ${formatLogProb(o.logProbOriginal)}`, `hidden at 0.5: ${formatLogProb(o.logProbStart)}`, `restored: ${formatLogProb(o.logProbEnd)}`],
        title: `Inpainting under ${modelName}`,
        note: `${source}; log p in nats; MAP: ${o.steps} Adam steps on the hidden pixels`,
      }),
    );
  }

  ui.run.addEventListener("click", () => {
    void run().catch((e) => {
      setState(model ? "ready" : "error");
      fail(ui.status, e);
    });
  });
  ui.stop.addEventListener("click", () => abort?.abort());

  ui.digitPick.value = "0";
  ui.pattern.value = "bottom";
  pickDigit();
  pickPattern();
  setTool("ink");
  setState("idle");
  ui.result.replaceChildren(placeholder("Original, masked and restored digits appear here after Inpaint."));
  say(ui.modelNote, "Press Load (or Inpaint, which loads the model first).");

  return { state: () => state, model: () => modelName, digit: () => ({ bytes: Array.from(image.bytes), hidden: Array.from(image.hidden) }), outcome: () => outcome };
}
