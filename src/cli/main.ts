#!/usr/bin/env node
/**
 * `nflow`: the command line of normalizing-flows. Dispatches to one module per command (loaded on
 * demand, so `nflow --help` is instant and the picture commands load the canvas only when used).
 * Every command resolves to an exit code (output.ts ExitCode); nothing here calls process.exit
 * while output may still be flushing.
 */
import { pathToFileURL } from "node:url";
import { realpathSync } from "node:fs";
import { LIBRARY_VERSION } from "../io/version.js";
import { ExitCode, errorLine, exitCodeFor, fail } from "./output.js";
import { enableThreads } from "../engine/threads.js";

type CommandModule = { run(argv: string[]): Promise<number> };

/** Every command: its one-line summary and its module. */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  train: { summary: "fit a flow to a toy or a table and save the model file", load: () => import("./commands/train.js") },
  vi: { summary: "fit a flow to an unnormalised density by variational inference (ELBO, log Z, ESS)", load: () => import("./commands/vi.js") },
  eval: { summary: "mean test log-likelihood (nats, bits/dim, KL gap for toys)", load: () => import("./commands/eval.js") },
  sample: { summary: "draw samples from a model into a CSV, or an image grid (PNG)", load: () => import("./commands/sample.js") },
  logprob: { summary: "log p(x) of every row of a table, in data units", load: () => import("./commands/logprob.js") },
  encode: { summary: "map data to the base space (x → z)", load: () => import("./commands/encode.js") },
  decode: { summary: "map base-space codes to data (z → x)", load: () => import("./commands/decode.js") },
  info: { summary: "architecture, parameter count and training record of a model file", load: () => import("./commands/info.js") },
  demo: { summary: "train on a toy and draw every picture (data, samples, density, layers, loss); demo images: the MNIST results", load: () => import("./commands/demo.js") },
  inpaint: { summary: "restore hidden pixels of images under an image model (MAP or posterior mean)", load: () => import("./commands/inpaint.js") },
  interpolate: { summary: "decode a grid of latent interpolations between four images", load: () => import("./commands/interpolate.js") },
  plot: { summary: "draw a trained model: density, samples, layers or loss", load: () => import("./commands/plot.js") },
  check: { summary: "check a model against the mathematics: round trips, log-dets vs autodiff Jacobians, ∫p = 1", load: () => import("./commands/check.js") },
};

/** The text of `nflow --help`. */
export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return [
    `nflow ${LIBRARY_VERSION}: normalizing flows (NICE, RealNVP, MAF, IAF, splines; density estimation and variational inference) from the command line`,
    "",
    "Usage: nflow <command> [flags]      nflow <command> --help for its flags",
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
    "",
    "Every command takes --json (JSON lines: progress events, then one result object) and --help.",
    "Exit codes: 0 ok, 1 failure, 2 bad command line, 3 bad input file or data, 4 training diverged.",
    "Set NFLOW_DEBUG=1 to see the stack of an unexpected error.",
    "",
    "Quick start:",
    "  nflow demo                                   # train on moons and draw the pictures",
    "  nflow train --flow realnvp --data moons --out moons.nflow",
    "  nflow eval --model moons.nflow --data moons",
    "  nflow sample --model moons.nflow --n 1000 --out samples.csv",
    "  nflow vi --target mixture --out q.nflow      # variational inference; then nflow eval --model q.nflow",
    "  nflow check --model moons.nflow              # round trips, log-dets vs Jacobians, ∫p = 1",
    "",
  ].join("\n");
}

/** Runs the command line (the words after `nflow`); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(mainHelp());
    return ExitCode.Usage;
  }
  if (first === "--help" || first === "-h") {
    process.stdout.write(mainHelp());
    return ExitCode.Ok;
  }
  if (first === "--version" || first === "-v" || first === "version") {
    process.stdout.write(`${LIBRARY_VERSION}\n`);
    return ExitCode.Ok;
  }
  if (first === "help") {
    if (rest[0] === undefined) {
      process.stdout.write(mainHelp());
      return ExitCode.Ok;
    }
    return main([rest[0], "--help"]);
  }
  const command = COMMANDS[first];
  if (!command) {
    const hint = first.startsWith("-") ? `flags come after a command` : `unknown command ${JSON.stringify(first)}`;
    return fail(`${hint}; commands: ${Object.keys(COMMANDS).join(", ")} (run 'nflow --help')`, ExitCode.Usage);
  }
  // Before the command loads the engine: jax-js sets up its worker pool once, when it loads.
  if (rest.includes("--threads")) {
    try {
      await enableThreads();
    } catch (error) {
      process.stderr.write(`nflow: warning: ${errorLine(error)}; running single-threaded\n`);
    }
  }
  let module: CommandModule;
  try {
    module = await command.load();
  } catch (error) {
    if (process.env.NFLOW_DEBUG === "1") process.stderr.write(`${(error as Error).stack}\n`);
    return fail(`nflow ${first} could not be loaded (${errorLine(error)})`, ExitCode.Failure);
  }
  return module.run([...rest]);
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // A closed pipe (`nflow sample --out - | head`) is a normal end, not an error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.exitCode = fail(errorLine(error), exitCodeFor(error));
      if (process.env.NFLOW_DEBUG === "1" && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    },
  );
}
