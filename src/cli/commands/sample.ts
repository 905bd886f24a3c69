/**
 * `nflow sample`: draw samples x ~ p(x) (data units) from a model and write them as CSV.
 */
import { defineCommand, UsageError } from "../args.js";
import { ExitCode, runCommand } from "../output.js";
import { checkOutputPath, dataColumns, formatCsv, parseContextValues, writeCsvOutput } from "../data.js";
import { MODEL_FLAG, openModel, sliceRows } from "./common.js";

export const sampleSpec = defineCommand({
  name: "sample",
  summary: "Draw samples from a model and write them as CSV (one sample per row, data units).",
  flags: {
    model: MODEL_FLAG,
    n: { type: "integer", min: 1, default: 1000, description: "number of samples" },
    out: { type: "string", required: true, placeholder: "file.csv", description: "output CSV file (- for stdout)" },
    seed: { type: "integer", min: 0, default: 0, description: "seed of the draw" },
    context: { type: "string", placeholder: "v[,v...]", defaultText: "none", description: "context values of a conditional model (the same for every sample)" },
  },
  notes: ["Example:", "  nflow sample --model moons.nflow --n 5000 --out samples.csv --seed 1"],
});

export async function run(argv: string[]): Promise<number> {
  return runCommand(sampleSpec, argv, async ({ args, out }) => {
    const v = args.values;
    if (v.out === "-" && args.json) throw new UsageError("--out - writes CSV on stdout, which --json uses; give a file name");
    checkOutputPath(v.out);
    const model = await openModel(v.model, out);
    try {
      const K = model.contextDim;
      if (K > 0 && v.context === undefined)
        throw new UsageError(`--context: this model is conditional; give ${K} value${K > 1 ? "s" : ""}, e.g. --context ${Array(K).fill("0").join(",")}`);
      if (K === 0 && v.context !== undefined) throw new UsageError("--context: this model is unconditional; leave --context out");
      const context = v.context !== undefined ? Array.from(parseContextValues(v.context, K)) : undefined;
      const D = model.dim;
      const values = new Float64Array(v.n * D);
      const progress = out.progress({ label: "sampling", total: v.n, unit: "sample" });
      // Slices of sliceRows(D) samples, each with its own seed derived from --seed, so that the bar
      // moves; the whole draw is reproducible from --seed.
      const rowsPerSlice = sliceRows(D);
      for (let start = 0, slice = 0; start < v.n; start += rowsPerSlice, slice++) {
        const m = Math.min(rowsPerSlice, v.n - start);
        const rows = model.sample(m, { seed: (v.seed + slice * 0x9e3779b1) >>> 0, ...(context ? { context } : {}) });
        rows.forEach((row, i) => values.set(row, (start + i) * D));
        progress.update(start + m);
      }
      progress.finish();
      const where = await writeCsvOutput(v.out, formatCsv(dataColumns(model), { values, width: D }));
      let finite = 0;
      for (let i = 0; i < v.n; i++) {
        let ok = true;
        for (let d = 0; d < D; d++) ok &&= Number.isFinite(values[i * D + d]!);
        if (ok) finite++;
      }
      if (finite < v.n) out.warn(`${v.n - finite} of ${v.n} samples are not finite (the model is unstable far from the data)`);
      out.result({ model: v.model, out: v.out, n: v.n, dim: D, seed: v.seed }, where === "stdout" ? [] : [`wrote ${v.n} samples (${D} columns) to ${where}`]);
      return ExitCode.Ok;
    } finally {
      model.dispose();
    }
  });
}
