/**
 * What the `nflow` commands print. Three audiences:
 * - a person at a terminal: a progress bar with ETA on stderr (redrawn in place), results on stdout;
 * - a pipe or a script: no progress (quiet), the same result lines on stdout;
 * - `--json`: JSON lines on stdout, one `{"event":"progress",...}` per progress event and one final
 *   `{"event":"result","ok":...}` object; errors also go to stderr as one line.
 * Errors are always ONE line, `nflow: error: ...`, and map to the exit codes of `ExitCode`.
 */
import { ConfigError, ContextError, DivergenceError, DTypeError, FileFormatError, FlowError, NonFiniteError, ShapeError } from "../engine/errors.js";
import { helpText, parseArgs, UsageError, type CommandSpec, type FlagSpec, type ParsedArgs } from "./args.js";

/** Exit codes of every `nflow` command. */
export enum ExitCode {
  /** Success. */
  Ok = 0,
  /** A runtime failure (an unexpected error, a file that could not be written). */
  Failure = 1,
  /** The command line is wrong (unknown flag, bad value, missing required flag). */
  Usage = 2,
  /** An input file or its data cannot be used (missing, corrupt, wrong shape, non-finite). */
  BadInput = 3,
  /** Training diverged or did not improve on its initial parameters; the best model seen was saved beside --out. */
  Diverged = 4,
  /** Interrupted by Ctrl-C (SIGINT, 128 + 2); the best model so far was saved. */
  Interrupted = 130,
  /** Stopped by SIGTERM (128 + 15); the best model so far was saved. */
  Terminated = 143,
}

/** A writable text stream (process.stdout, process.stderr, or a test double). */
export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Where an `Output` writes and how. */
export interface OutputOptions {
  /** JSON lines on stdout instead of human text. */
  json?: boolean;
  stdout?: TextSink;
  stderr?: TextSink;
  /** Draw the progress bar (default: stderr is a TTY and not `--json`). */
  interactive?: boolean;
  /** Milliseconds clock for rates and ETAs (tests). Default Date.now. */
  clock?: () => number;
}

/** Extra numbers shown beside a progress bar (`loss 1.234`) and sent with JSON progress events. */
export type Metrics = Record<string, number | string | undefined>;

/** A progress bar (TTY), a stream of JSON events (`--json`), or nothing (piped). */
export interface Progress {
  /** `done` units of `total` are finished; `metrics` are shown beside the bar. */
  update(done: number, metrics?: Metrics): void;
  /** Replaces the label (`compiling…` → `training`). */
  setLabel(label: string): void;
  /** Removes the bar (TTY) and sends the last JSON progress event. */
  finish(metrics?: Metrics): void;
}

/**
 * A progress bar made on the first report, when the total is known (tasks report (done, total)
 * from inside long jobs).
 */
export function lazyProgress(out: Output, label: string, unit: string): { update: (done: number, total: number) => void; finish: () => void } {
  let bar: Progress | undefined;
  return {
    update: (done, total) => {
      bar ??= out.progress({ label, total, unit });
      bar.update(done);
    },
    finish: () => bar?.finish(),
  };
}

/** Options of `Output.progress`. */
export interface ProgressOptions {
  label: string;
  total: number;
  /** Unit of the rate, e.g. `step` → `85 step/s`. */
  unit?: string;
  /** At most this many JSON progress events over the whole run (default 100). */
  jsonEvents?: number;
}

const isDebug = (): boolean => process.env.NFLOW_DEBUG === "1" || process.env.NFLOW_DEBUG === "true";

/** Seconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}

function formatMetric(value: number | string): string {
  if (typeof value === "string") return value;
  if (Number.isInteger(value)) return String(value);
  const a = Math.abs(value);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? value.toExponential(2) : value.toFixed(a < 10 ? 4 : 2);
}

/** The single line printed for an error: FlowError messages as they are, others briefly. */
export function errorLine(error: unknown): string {
  if (error instanceof FlowError || error instanceof UsageError) return firstLine(error.message);
  const code = (error as { code?: unknown } | null)?.code;
  const path = (error as { path?: unknown } | null)?.path;
  if (typeof code === "string" && typeof path === "string") {
    if (code === "ENOENT") return `${path}: no such file or directory (check the path)`;
    if (code === "EACCES" || code === "EPERM") return `${path}: permission denied`;
    if (code === "EISDIR") return `${path}: is a directory, expected a file`;
    if (code === "ENOSPC") return `${path}: no space left on the device`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `${firstLine(message)}${isDebug() ? "" : " (unexpected; rerun with NFLOW_DEBUG=1 for the stack)"}`;
}

/** The exit code for an error: usage 2, bad input 3, divergence 4, anything else 1. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError || error instanceof ConfigError) return ExitCode.Usage;
  if (error instanceof DivergenceError) return ExitCode.Diverged;
  if (
    error instanceof FileFormatError ||
    error instanceof ShapeError ||
    error instanceof NonFiniteError ||
    error instanceof ContextError ||
    error instanceof DTypeError
  )
    return ExitCode.BadInput;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === "EISDIR") return ExitCode.BadInput;
  return ExitCode.Failure;
}

function firstLine(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "") ?? text;
  return line.trim();
}

/**
 * Prints `nflow: error: <message>` as one line on stderr and returns the exit code (default 1),
 * so that a command can `return fail("...", ExitCode.BadInput)`.
 */
export function fail(message: string, code: ExitCode = ExitCode.Failure, stderr: TextSink = process.stderr): ExitCode {
  stderr.write(`nflow: error: ${firstLine(message)}\n`);
  return code;
}

/** The output channel of one command run. */
export class Output {
  /** JSON lines mode (`--json`). */
  readonly json: boolean;
  /** A progress bar is drawn (stderr is a terminal and not `--json`). */
  readonly interactive: boolean;
  private readonly stdout: TextSink;
  private readonly stderr: TextSink;
  private liveLine = false;
  /** @internal the clock of progress bars. */
  readonly clock: () => number;

  constructor(options: OutputOptions = {}) {
    this.json = options.json ?? false;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.interactive = options.interactive ?? (!this.json && this.stderr.isTTY === true);
    this.clock = options.clock ?? Date.now;
  }

  /** Sends one JSON line `{"event": type, ...fields}` (only in `--json` mode). */
  event(type: string, fields: Record<string, unknown> = {}): void {
    if (this.json) this.stdout.write(`${JSON.stringify({ event: type, ...fields }, jsonReplacer)}\n`);
  }

  /** A status note for a person at a terminal (`compiling…`, `wrote x.csv`); silent when piped or `--json`. */
  note(message: string): void {
    if (!this.interactive) return;
    this.clearLine();
    this.stderr.write(`${message}\n`);
  }

  /** A warning: one line on stderr in every mode (and a JSON `warning` event). */
  warn(message: string): void {
    this.clearLine();
    this.stderr.write(`nflow: warning: ${firstLine(message)}\n`);
    this.event("warning", { message: firstLine(message) });
  }

  /**
   * The final result: in `--json` mode one `{"event":"result","ok":true,...result}` line; otherwise
   * the human lines (or `key: value` lines of the result when none are given) on stdout.
   */
  result(result: Record<string, unknown>, human?: string | readonly string[]): void {
    this.clearLine();
    if (this.json) {
      this.event("result", { ok: true, ...result });
      return;
    }
    const lines =
      human === undefined
        ? Object.entries(result).map(([k, v]) => `${k}: ${typeof v === "number" ? formatMetric(v) : typeof v === "string" ? v : JSON.stringify(v)}`)
        : typeof human === "string"
          ? [human]
          : human;
    if (lines.length) this.stdout.write(`${lines.join("\n")}\n`);
  }

  /** Raw text on stdout (human mode only), e.g. CSV written to `-`. */
  print(text: string): void {
    if (this.json) return;
    this.clearLine();
    this.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }

  /**
   * One error line on stderr (and, with `--json`, a final `{"event":"result","ok":false,...}` line);
   * returns the exit code. `extra` fields join the JSON result (e.g. where the best model was saved).
   */
  fail(message: string, code: ExitCode = ExitCode.Failure, extra: Record<string, unknown> = {}): ExitCode {
    this.clearLine();
    fail(message, code, this.stderr);
    this.event("result", { ok: false, error: firstLine(message), exitCode: code, ...extra });
    return code;
  }

  /** Reports a caught error (typed errors by message, others in one line; stack with NFLOW_DEBUG=1). */
  failWith(error: unknown, extra: Record<string, unknown> = {}): ExitCode {
    const code = this.fail(errorLine(error), exitCodeFor(error), extra);
    if (isDebug() && error instanceof Error && error.stack) this.stderr.write(`${error.stack}\n`);
    return code;
  }

  /** Starts a progress bar (TTY), a JSON progress stream (`--json`) or nothing (piped). */
  progress(options: ProgressOptions): Progress {
    return new ProgressBar(this, options);
  }

  /** @internal redraws the live line on stderr. */
  drawLive(text: string): void {
    const columns = this.stderr.columns || 100;
    const line = text.length > columns - 1 ? text.slice(0, columns - 1) : text;
    this.stderr.write(`\r${line}\x1b[K`);
    this.liveLine = true;
  }

  /** @internal erases the live line, if any. */
  clearLine(): void {
    if (this.liveLine) {
      this.stderr.write("\r\x1b[K");
      this.liveLine = false;
    }
  }

  /** @internal terminal width for the bar. */
  get columns(): number {
    return this.stderr.columns || 100;
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  // JSON has no NaN/Infinity: send them as strings rather than as null, so the reader sees what happened.
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (value instanceof Float32Array || value instanceof Float64Array) return Array.from(value);
  return value;
}

class ProgressBar implements Progress {
  private label: string;
  private readonly total: number;
  private readonly unit: string;
  private readonly jsonEvery: number;
  private readonly start: number;
  // The rate and ETA are measured from the first update on: the first unit often includes
  // compilation (jit tracing), which says nothing about the pace of the rest.
  private firstTime = 0;
  private firstDone = 0;
  private lastDraw = 0;
  private lastJson = -Infinity;
  private done = 0;
  private metrics: Metrics = {};
  private finished = false;

  constructor(
    private readonly out: Output,
    options: ProgressOptions,
  ) {
    this.start = out.clock();
    this.label = options.label;
    this.total = Math.max(0, options.total);
    this.unit = options.unit ?? "it";
    this.jsonEvery = Math.max(1, Math.floor(this.total / Math.max(1, options.jsonEvents ?? 100)));
    if (out.interactive) this.draw();
  }

  setLabel(label: string): void {
    this.label = label;
    if (this.out.interactive) this.draw();
  }

  update(done: number, metrics: Metrics = {}): void {
    if (this.finished) return;
    const now = this.out.clock();
    if (this.firstTime === 0) {
      this.firstTime = now;
      this.firstDone = done;
    }
    this.done = done;
    this.metrics = { ...this.metrics, ...metrics };
    if (this.out.json && (done - this.lastJson >= this.jsonEvery || done >= this.total)) {
      this.lastJson = done;
      this.emitJson();
    }
    if (this.out.interactive && (now - this.lastDraw >= 100 || done >= this.total)) {
      this.lastDraw = now;
      this.draw();
    }
  }

  finish(metrics: Metrics = {}): void {
    if (this.finished) return;
    this.metrics = { ...this.metrics, ...metrics };
    if (this.out.json && this.lastJson !== this.done) this.emitJson();
    this.finished = true;
    this.out.clearLine();
  }

  private rate(): number | undefined {
    const now = this.out.clock();
    const dt = (now - this.firstTime) / 1000;
    const dn = this.done - this.firstDone;
    if (this.firstTime > 0 && dt > 0 && dn > 0) return dn / dt;
    // Until a second update, the pace since the start (compilation included: a pessimistic ETA).
    const total = (now - this.start) / 1000;
    return this.done > 0 && total > 0 ? this.done / total : undefined;
  }

  private emitJson(): void {
    const rate = this.rate();
    const clean: Record<string, number | string> = {};
    for (const [k, v] of Object.entries(this.metrics)) if (v !== undefined) clean[k] = v;
    this.out.event("progress", {
      label: this.label,
      done: this.done,
      total: this.total,
      elapsed_s: (this.out.clock() - this.start) / 1000,
      ...(rate !== undefined ? { rate, eta_s: (this.total - this.done) / rate } : {}),
      ...clean,
    });
  }

  private draw(): void {
    const rate = this.rate();
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 0;
    const pct = `${Math.floor(frac * 100)}%`.padStart(4);
    const count = `${this.done}/${this.total}`;
    const eta = rate !== undefined ? `ETA ${formatDuration((this.total - this.done) / rate)}` : `elapsed ${formatDuration((this.out.clock() - this.start) / 1000)}`;
    const speed = rate !== undefined ? `${rate >= 10 ? Math.round(rate) : rate.toPrecision(2)} ${this.unit}/s` : "";
    const metrics = Object.entries(this.metrics)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k} ${formatMetric(v!)}`);
    // The essentials first (bar, percent, count, ETA); metrics and speed only while they fit.
    const columns = this.out.columns - 1;
    const width = 20;
    const filled = Math.round(frac * width);
    let line = `${this.label} [${"█".repeat(filled)}${"░".repeat(width - filled)}] ${pct}  ${count}  ${eta}`;
    for (const extra of [...metrics, speed]) {
      if (extra && line.length + 2 + extra.length <= columns) line += `  ${extra}`;
    }
    this.out.drawLive(line);
  }
}

/** What a command body receives: the parsed flags and its output channel. */
export interface CommandContext<F extends Record<string, FlagSpec>> {
  args: ParsedArgs<F>;
  out: Output;
}

/**
 * Runs one command with the shared conventions: `--help` prints the help (exit 0); a usage error
 * prints one line (exit 2); `body` gets typed flags and an `Output`; any error it throws becomes
 * one line and its exit code (typed errors by their message; NFLOW_DEBUG=1 adds the stack).
 * `body` returns the exit code (or nothing for 0).
 */
export async function runCommand<F extends Record<string, FlagSpec>>(
  spec: CommandSpec<F>,
  argv: readonly string[],
  body: (ctx: CommandContext<F>) => Promise<ExitCode | number | void>,
  options: Omit<OutputOptions, "json"> = {},
): Promise<number> {
  let args: ParsedArgs<F>;
  const json = argv.includes("--json");
  try {
    args = parseArgs(spec, argv);
  } catch (error) {
    const out = new Output({ ...options, json });
    if (error instanceof UsageError) return out.fail(`${error.message}`, ExitCode.Usage);
    return out.failWith(error);
  }
  if (args.help) {
    (options.stdout ?? process.stdout).write(helpText(spec));
    return ExitCode.Ok;
  }
  const out = new Output({ ...options, json: args.json });
  try {
    const code = await body({ args, out });
    return code ?? ExitCode.Ok;
  } catch (error) {
    return out.failWith(error);
  }
}
