import { test } from "node:test";
import assert from "node:assert/strict";
import { defineCommand, helpText, parseArgs, UsageError } from "../../src/cli/args.js";
import { ExitCode, exitCodeFor, Output, runCommand, formatDuration } from "../../src/cli/output.js";
import { ConfigError, DivergenceError, FileFormatError, NonFiniteError, ShapeError } from "../../src/engine/errors.js";

const spec = defineCommand({
  name: "demo-cmd",
  summary: "A command for tests.",
  flags: {
    flow: { type: "string", choices: ["nice", "realnvp"], default: "realnvp", description: "architecture" },
    hidden: { type: "integers", min: 1, default: [64, 64], description: "hidden widths" },
    steps: { type: "integer", min: 0, defaultText: "2000", description: "steps" },
    lr: { type: "number", default: 1e-3, description: "learning rate" },
    out: { type: "string", required: true, placeholder: "file", description: "output" },
    contextColumn: { type: "string", description: "context column" },
    verbose: { type: "boolean", description: "talk more" },
  },
});

/** A sink that records what is written. */
function sink(isTTY = false): { text: string; write(s: string): boolean; isTTY: boolean; columns: number } {
  return {
    text: "",
    isTTY,
    columns: 120,
    write(s: string) {
      this.text += s;
      return true;
    },
  };
}

test("args: typed values, defaults, kebab-case flags", () => {
  const a = parseArgs(spec, ["--out", "m.nflow", "--hidden", "32,16", "--context-column", "y", "--steps", "5", "--verbose"]);
  assert.deepEqual(a.values, {
    out: "m.nflow",
    hidden: [32, 16],
    contextColumn: "y",
    steps: 5,
    verbose: true,
    flow: "realnvp",
    lr: 1e-3,
    json: false,
    help: false,
  });
  assert.deepEqual([...a.given].sort(), ["contextColumn", "hidden", "out", "steps", "verbose"]);
  const b = parseArgs(spec, ["--out=x", "--json", "--lr", "2e-4"]);
  assert.equal(b.json, true);
  assert.equal(b.values.lr, 2e-4);
  assert.deepEqual(b.values.hidden, [64, 64], "a default list is a fresh copy");
  assert.equal(b.values.steps, undefined);
  assert.equal(parseArgs(spec, ["--help", "--bogus"]).help, true, "--help wins over everything");
});

test("args: every usage problem is one UsageError line", () => {
  const cases: [string[], RegExp][] = [
    [["--out", "x", "--bogus"], /^unknown flag --bogus \(run 'nflow demo-cmd --help' for the flags\)$/],
    [["--out"], /^flag --out needs a value$/],
    [["--out", "x", "--verbose=yes"], /does not take a value/],
    [["--out", "x", "--steps", "1.5"], /^--steps: expected an integer, got "1.5"$/],
    [["--out", "x", "--steps", "-1"], /^--steps: expected a value ≥ 0, got -1$/],
    [["--out", "x", "--lr", "fast"], /^--lr: expected a number, got "fast"$/],
    [["--out", "x", "--hidden", "64,,64"], /comma-separated integers/],
    [["--out", "x", "--hidden", "0"], /≥ 1/],
    [["--out", "x", "--flow", "glow"], /^--flow: expected one of nice, realnvp, got "glow"$/],
    [[], /^missing required flag --out <file>$/],
    [["--out", "x", "extra"], /unexpected argument "extra"/],
  ];
  for (const [argv, pattern] of cases) {
    assert.throws(
      () => parseArgs(spec, argv),
      (e: unknown) => e instanceof UsageError && !e.message.includes("\n") && pattern.test(e.message),
      `${argv.join(" ")}`,
    );
  }
});

test("args: --help lists every flag with its default and description", () => {
  const text = helpText(spec);
  assert.match(text, /^Usage: nflow demo-cmd --out <file> \[flags\]/);
  for (const flag of ["--flow", "--hidden", "--steps", "--lr", "--out", "--context-column", "--verbose", "--json", "--help"])
    assert.ok(text.includes(flag), flag);
  assert.match(text, /--flow nice\|realnvp\s+architecture \(default: realnvp\)/);
  assert.match(text, /--hidden <n,n,...>\s+hidden widths \(default: 64,64\)/);
  assert.match(text, /--steps <n>\s+steps \(default: 2000\)/);
  assert.match(text, /--lr <x>\s+learning rate \(default: 0.001\)/);
  assert.match(text, /--out <file>\s+output \(required\)/);
  assert.match(text, /--verbose\s+talk more \(default: off\)/);
});

test("output: exit codes of the typed errors", () => {
  assert.equal(exitCodeFor(new UsageError("x")), ExitCode.Usage);
  assert.equal(exitCodeFor(new ConfigError("x")), ExitCode.Usage);
  assert.equal(exitCodeFor(new FileFormatError("x")), ExitCode.BadInput);
  assert.equal(exitCodeFor(new ShapeError("x")), ExitCode.BadInput);
  assert.equal(exitCodeFor(new NonFiniteError("x")), ExitCode.BadInput);
  assert.equal(exitCodeFor(Object.assign(new Error("x"), { code: "ENOENT", path: "a.csv" })), ExitCode.BadInput);
  assert.equal(exitCodeFor(new DivergenceError("x")), ExitCode.Diverged);
  assert.equal(exitCodeFor(new TypeError("x")), ExitCode.Failure);
  assert.equal(formatDuration(75), "1:15");
  assert.equal(formatDuration(3725), "1:02:05");
});

test("output: JSON lines mode sends progress events and one result object; errors are one line", async () => {
  const stdout = sink();
  const stderr = sink();
  const code = await runCommand(
    spec,
    ["--out", "x", "--json"],
    async ({ out }) => {
      const p = out.progress({ label: "training", total: 300, unit: "step", jsonEvents: 3 });
      for (let s = 1; s <= 300; s++) p.update(s, { loss: 1 / s });
      p.finish();
      out.note("only for people at a terminal");
      out.result({ nll: 1.5, bad: NaN });
      return ExitCode.Ok;
    },
    { stdout, stderr },
  );
  assert.equal(code, 0);
  assert.equal(stderr.text, "");
  const lines = stdout.text.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  const progress = lines.filter((l) => l.event === "progress");
  assert.ok(progress.length >= 3 && progress.length <= 4, `${progress.length} progress events`);
  assert.equal(progress.at(-1)!.done, 300);
  assert.equal(progress.at(-1)!.total, 300);
  assert.equal(typeof progress.at(-1)!.loss, "number");
  assert.deepEqual(lines.at(-1), { event: "result", ok: true, nll: 1.5, bad: "NaN" });

  const out2 = sink();
  const err2 = sink();
  const failed = await runCommand(spec, ["--out", "x", "--json"], async () => {
    throw new FileFormatError("data.csv: line 3: expected 2 fields, got 1");
  }, { stdout: out2, stderr: err2 });
  assert.equal(failed, ExitCode.BadInput);
  assert.equal(err2.text, "nflow: error: data.csv: line 3: expected 2 fields, got 1\n");
  assert.deepEqual(JSON.parse(out2.text), { event: "result", ok: false, error: "data.csv: line 3: expected 2 fields, got 1", exitCode: 3 });

  const err3 = sink();
  const unexpected = await runCommand(spec, ["--out", "x"], async () => {
    throw new TypeError("cannot read properties of undefined\n    at somewhere (file.ts:1:1)");
  }, { stdout: sink(), stderr: err3 });
  assert.equal(unexpected, ExitCode.Failure);
  assert.equal(err3.text.split("\n").length, 2, "one line (and the final newline)");
  assert.match(err3.text, /^nflow: error: cannot read properties of undefined \(unexpected; rerun with NFLOW_DEBUG=1 for the stack\)\n$/);

  const err4 = sink();
  assert.equal(await runCommand(spec, ["--bogus"], async () => 0, { stdout: sink(), stderr: err4 }), ExitCode.Usage);
  assert.equal(err4.text.split("\n").length, 2);
});

test("output: a progress bar with ETA on a terminal, nothing when piped", () => {
  const tty = sink(true);
  let now = 0;
  const out = new Output({ stderr: tty, stdout: sink(), clock: () => now });
  assert.equal(out.interactive, true);
  const p = out.progress({ label: "training", total: 100, unit: "step" });
  now = 5000; // the first step includes compilation
  p.update(1, { loss: 2 });
  now = 6000; // then 10 steps per second: 9 steps left
  p.update(11, { loss: 1.5 });
  assert.match(tty.text, /training \[[█░]+\]\s+11%\s+11\/100\s+ETA 0:09\s+loss 1.5\d*\s+10 step\/s/);
  now = 15000;
  p.update(100, { loss: 1 });
  assert.match(tty.text, /training \[█+\]\s+100%\s+100\/100\s+ETA 0:00\s+loss 1\s/);
  p.finish();
  assert.ok(tty.text.endsWith("\r\x1b[K"), "the bar is erased at the end");

  const piped = sink(false);
  const quiet = new Output({ stderr: piped, stdout: sink() });
  const q = quiet.progress({ label: "training", total: 10 });
  q.update(5);
  q.finish();
  quiet.note("hello");
  assert.equal(piped.text, "");
});
