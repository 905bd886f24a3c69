/**
 * The three row-by-row commands over an input table: `logprob` (log p(x) per row, data units),
 * `encode` (x → z) and `decode` (z → x). They differ only in the function applied and the columns
 * written.
 */
import { defineCommand, UsageError, type CommandSpec } from "../args.js";
import { ExitCode, runCommand } from "../output.js";
import { checkOutputPath, dataColumns, formatCsv, readModelInput, writeCsvOutput } from "../data.js";
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
      const input = readModelInput(v.input, model, kind === "decode" ? "z" : "x", v.context);
      const D = model.dim;
      const K = model.contextDim;
      const width = kind === "logprob" ? 1 : D;
      const apply = (x: Float64Array, c: Float64Array | undefined): Float64Array | number[][] => {
        const ctx = c ? (c as Float64Array) : undefined;
        return kind === "logprob" ? model.logProb(x, ctx) : kind === "encode" ? model.encode(x, ctx) : model.decode(x, ctx);
      };
      const label = { logprob: "log p(x)", encode: "encoding", decode: "decoding" }[kind];
      const values = inSlices(out, label, input.n, D, input.x, input.context, K, width, apply);
      const header = kind === "logprob" ? ["log_prob"] : kind === "encode" ? zColumns(model) : dataColumns(model);
      const where = await writeCsvOutput(v.out, formatCsv(header, { values, width }));
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

function zColumns(model: FlowModel): string[] {
  return Array.from({ length: model.dim }, (_, i) => `z${i + 1}`);
}
