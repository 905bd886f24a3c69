/**
 * The three row-by-row commands over an input table: `logprob` (log p(x) per row, data units),
 * `encode` (x → z) and `decode` (z → x). They differ only in the function applied and the columns
 * written.
 */
import { defineCommand, UsageError, type CommandSpec } from "../args.js";
import { ExitCode, runCommand, type Output } from "../output.js";
import { checkOutputPath, dataColumns, latentColumns, readModelInput, writeCsvStream } from "../data.js";
import { NonFiniteError } from "../../engine/errors.js";
import type { FlowModel } from "../../model/model.js";
import { inSlices, MODEL_FLAG, openModel } from "./common.js";

type Kind = "logprob" | "encode" | "decode";

function spec(kind: Kind) {
  const what = kind === "decode" ? "z" : "x";
  const summary = {
    logprob: "Log-density log p(x) of every row of a table, in nats in the data's units (one value per row).",
    encode: "Map data to the base space, x → z (the normalising direction), one row per row.",
    decode: "Map base-space codes to data, z → x (the generative direction), one row per row.",
  }[kind];
  const example = {
    logprob: "  nflow logprob --model moons.nflow --input x.csv --out lp.csv",
    encode: "  nflow encode --model moons.nflow --input x.csv --out z.csv",
    decode: "  nflow decode --model moons.nflow --input z.csv --out x.csv",
  }[kind];
  return defineCommand({
    name: kind,
    summary,
    flags: {
      model: MODEL_FLAG,
      input: { type: "string", required: true, placeholder: "file", description: `table of ${what} rows (.csv with or without header, .npy, ...); a conditional model also reads its context columns from it` },
      out: { type: "string", required: true, placeholder: "file.csv", description: "output CSV file (- for stdout)" },
      context: { type: "string", placeholder: "v[,v...]", defaultText: "the input's context columns", description: "context values for every row (conditional models)" },
    },
    notes: ["Example:", example],
  });
}

export const logprobSpec = spec("logprob");
export const encodeSpec = spec("encode");
export const decodeSpec = spec("decode");

/** Runs one of the three commands. */
export async function runTransform(kind: Kind, argv: string[]): Promise<number> {
  const s = { logprob: logprobSpec, encode: encodeSpec, decode: decodeSpec }[kind] as CommandSpec<ReturnType<typeof spec>["flags"]>;
  return runCommand(s, argv, async ({ args, out }) => {
    const v = args.values;
    if (v.out === "-" && args.json) throw new UsageError("--out - writes CSV on stdout, which --json uses; give a file name");
    checkOutputPath(v.out, "--out", { "--model": v.model, "--input": v.input });
    const model = await openModel(v.model, out);
    try {
      const input = readModelInput(v.input, model, kind === "decode" ? "z" : "x", v.context, (m) => out.warn(m));
      const D = model.dim;
      const K = model.contextDim;
      const width = kind === "logprob" ? 1 : D;
      const apply = (x: Float64Array, c: Float64Array | undefined): Float64Array | number[][] => {
        const ctx = c ? (c as Float64Array) : undefined;
        return kind === "logprob" ? model.logProb(x, ctx) : kind === "encode" ? model.encode(x, ctx) : model.decode(x, ctx);
      };
      const label = { logprob: "log p(x)", encode: "encoding", decode: "decoding" }[kind];
      const values = inSlices(out, label, input.n, D, input.x, input.context, K, width, apply);
      checkOutputs(kind, values, width, input.n, model, v.input, out);
      const header = kind === "logprob" ? ["log_prob"] : kind === "encode" ? latentColumns(model) : dataColumns(model);
      const where = await writeCsvStream(v.out, header, width, [values]);
      const result: Record<string, unknown> = { model: v.model, input: v.input, out: v.out, n: input.n };
      if (kind === "logprob") {
        let sum = 0;
        for (const lp of values) sum += lp;
        result.meanLogProb = sum / Math.max(1, input.n);
      }
      out.result(result, where === "stdout" ? [] : [`wrote ${input.n} row${input.n === 1 ? "" : "s"} of ${header.join(",")} to ${where}`]);
      return ExitCode.Ok;
    } finally {
      model.dispose();
    }
  });
}

/** The first (1-based) rows, as "rows 3, 7, 9, …" */
export function rowList(rows: readonly number[], count: number): string {
  return `row${count > 1 ? "s" : ""} ${rows.join(", ")}${count > rows.length ? ", …" : ""}`;
}

/**
 * No silent NaN: NaN or ±Infinity in an output is an error naming its first rows (NonFiniteError,
 * exit 3, nothing written), except log p = −Infinity: outside a bounded base's support (uniform)
 * it is the exact value; for an unbounded base it is a density below the dtype's range, written
 * with a warning.
 */
function checkOutputs(kind: Kind, values: Float64Array, width: number, n: number, model: FlowModel, input: string, out: Output): void {
  const bad: number[] = [];
  const low: number[] = [];
  let nBad = 0;
  let nLow = 0;
  for (let i = 0; i < n; i++) {
    let rowBad = false;
    let rowLow = false;
    for (let j = 0; j < width; j++) {
      const v = values[i * width + j]!;
      if (kind === "logprob" && v === -Infinity) rowLow = true;
      else if (!Number.isFinite(v)) rowBad = true;
    }
    if (rowBad && nBad++ < 5) bad.push(i + 1);
    if (rowLow && nLow++ < 5) low.push(i + 1);
  }
  const what = { logprob: "log p(x)", encode: "z", decode: "x" }[kind];
  if (nBad > 0)
    throw new NonFiniteError(
      `${input}: ${what} is NaN or infinite for ${nBad} of ${n} rows (${rowList(bad, nBad)}): the model's ${model.dtype} arithmetic overflows there (values far outside the training data?); nothing was written`,
    );
  if (nLow > 0 && model.config.base.kind !== "uniform")
    out.warn(`${input}: log p(x) is -Infinity for ${nLow} of ${n} rows (${rowList(low, nLow)}): a density below the range of ${model.dtype} (points far outside the data)`);
}
