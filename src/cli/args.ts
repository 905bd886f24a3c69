/**
 * Command-line flags: a thin layer over `node:util` `parseArgs` that turns one declarative spec per
 * command into typed values, the `--help` text (every flag with its default and description) and
 * one-line usage errors. `--help`/`-h` and `--json` are added to every command, so that every
 * command documents itself and speaks JSON lines the same way.
 */
import { parseArgs as nodeParseArgs } from "node:util";

/** How a flag's text is read: a string, a number, an integer, a switch, or a comma list of integers. */
export type FlagType = "string" | "number" | "integer" | "boolean" | "integers";

/** One flag of a command. */
export interface FlagSpec {
  readonly type: FlagType;
  /** One line shown by `--help`. */
  readonly description: string;
  /** Value used when the flag is absent (shown by `--help`). Booleans default to false. */
  readonly default?: string | number | boolean | readonly number[];
  /** What `--help` shows as the default when there is no fixed value (`auto: 10 layers for 2-D data`). */
  readonly defaultText?: string;
  /** The flag must be given. */
  readonly required?: boolean;
  /** Allowed values of a string flag. */
  readonly choices?: readonly string[];
  /** Name of the value in `--help` (`--out <file>`); defaults to the type. */
  readonly placeholder?: string;
  /** One-letter alias (`-n`). */
  readonly short?: string;
  /** Smallest allowed value of a number/integer flag (inclusive). */
  readonly min?: number;
  /** Largest allowed value of a number/integer flag (inclusive). */
  readonly max?: number;
}

/** A command: its name, a one-line summary, its flags and an optional list of examples. */
export interface CommandSpec<F extends Record<string, FlagSpec> = Record<string, FlagSpec>> {
  /** Command name as typed after `nflow` (`train`). */
  readonly name: string;
  /** One line shown at the top of `--help` and in `nflow --help`. */
  readonly summary: string;
  readonly flags: F;
  /** Positional arguments, `--help` text only (`density|samples|layers|loss`). */
  readonly positionals?: readonly { readonly name: string; readonly description: string; readonly required?: boolean }[];
  /** Extra lines printed at the end of `--help` (examples, notes). */
  readonly notes?: readonly string[];
}

type ValueOf<S extends FlagSpec> = S["type"] extends "boolean"
  ? boolean
  : S["type"] extends "number" | "integer"
    ? number
    : S["type"] extends "integers"
      ? number[]
      : string;

/** Parsed values: flags with a default, required flags and switches are always present. */
export type FlagValues<F extends Record<string, FlagSpec>> = {
  [K in keyof F]: F[K] extends { readonly default: unknown }
    ? ValueOf<F[K]>
    : F[K] extends { readonly required: true }
      ? ValueOf<F[K]>
      : F[K] extends { readonly type: "boolean" }
        ? boolean
        : ValueOf<F[K]> | undefined;
};

/** The result of parsing one command line. */
export interface ParsedArgs<F extends Record<string, FlagSpec>> {
  values: FlagValues<F>;
  positionals: string[];
  /** `--help` was given: print `helpText(spec)` and exit 0 (no other validation was done). */
  help: boolean;
  /** `--json` was given: JSON lines on stdout. */
  json: boolean;
  /** Flags the user typed (as opposed to defaults). */
  given: Set<string>;
}

/** A wrong command line. Printed as one line `nflow: error: ...` with exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Declares a command spec with its flag types preserved (so `values` are typed). */
export function defineCommand<const F extends Record<string, FlagSpec>>(spec: CommandSpec<F>): CommandSpec<F> {
  return spec;
}

const BUILTIN_FLAGS: Record<string, FlagSpec> = {
  json: { type: "boolean", defaultText: "", description: "print JSON lines on stdout: one per progress event, then one result object" },
  help: { type: "boolean", short: "h", defaultText: "", description: "show this help and exit" },
};

function allFlags(spec: CommandSpec): Record<string, FlagSpec> {
  return { ...spec.flags, ...BUILTIN_FLAGS };
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function convert(name: string, flag: FlagSpec, raw: string): string | number | number[] {
  const where = `--${kebab(name)}`;
  const checkRange = (v: number): number => {
    if (flag.min !== undefined && v < flag.min) throw new UsageError(`${where}: expected a value ≥ ${flag.min}, got ${raw}`);
    if (flag.max !== undefined && v > flag.max) throw new UsageError(`${where}: expected a value ≤ ${flag.max}, got ${raw}`);
    return v;
  };
  switch (flag.type) {
    case "number": {
      const v = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(v)) throw new UsageError(`${where}: expected a number, got ${JSON.stringify(raw)}`);
      return checkRange(v);
    }
    case "integer": {
      const v = Number(raw);
      if (raw.trim() === "" || !Number.isSafeInteger(v)) throw new UsageError(`${where}: expected an integer, got ${JSON.stringify(raw)}`);
      return checkRange(v);
    }
    case "integers": {
      const parts = raw.split(",").map((s) => s.trim());
      const values = parts.map(Number);
      if (parts.some((s) => s === "") || values.some((v) => !Number.isSafeInteger(v)))
        throw new UsageError(`${where}: expected comma-separated integers such as 64,64, got ${JSON.stringify(raw)}`);
      values.forEach(checkRange);
      return values;
    }
    default:
      if (flag.choices && !flag.choices.includes(raw))
        throw new UsageError(`${where}: expected one of ${flag.choices.join(", ")}, got ${JSON.stringify(raw)}`);
      return raw;
  }
}

/**
 * Parses `argv` (the words after the command name) against a spec. Unknown flags, missing values,
 * bad numbers and missing required flags throw `UsageError` with one line naming the fix. With
 * `--help`, returns at once with `help: true` (no other checks).
 */
export function parseArgs<F extends Record<string, FlagSpec>>(spec: CommandSpec<F>, argv: readonly string[]): ParsedArgs<F> {
  const flags = allFlags(spec);
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  const byOption = new Map<string, string>();
  for (const [name, flag] of Object.entries(flags)) {
    const option = kebab(name);
    byOption.set(option, name);
    options[option] = { type: flag.type === "boolean" ? "boolean" : "string", ...(flag.short ? { short: flag.short } : {}) };
  }
  if (argv.includes("--help") || argv.includes("-h")) {
    return { values: {} as FlagValues<F>, positionals: [], help: true, json: argv.includes("--json"), given: new Set() };
  }
  // node's parser reads "-1" after a flag as a short option: join negative numbers to their flag.
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const next = argv[i + 1];
    const option = word.startsWith("--") ? options[word.slice(2)] : undefined;
    if (option?.type === "string" && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      words.push(`${word}=${next}`);
      i++;
    } else {
      words.push(word);
    }
  }
  let parsed: { values: Record<string, string | boolean | undefined | (string | boolean)[]>; positionals: string[] };
  try {
    parsed = nodeParseArgs({ args: words, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(describeParseError(error, spec.name));
  }
  const allowedPositionals = spec.positionals?.length ?? 0;
  if (parsed.positionals.length > allowedPositionals) {
    const extra = parsed.positionals[allowedPositionals]!;
    throw new UsageError(
      allowedPositionals === 0
        ? `unexpected argument ${JSON.stringify(extra)} (nflow ${spec.name} takes only --flags)`
        : `unexpected extra argument ${JSON.stringify(extra)}`,
    );
  }
  spec.positionals?.forEach((p, i) => {
    if (p.required && parsed.positionals[i] === undefined) throw new UsageError(`missing <${p.name}>: ${p.description}`);
  });
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const [option, raw] of Object.entries(parsed.values)) {
    const name = byOption.get(option)!;
    const flag = flags[name]!;
    given.add(name);
    if (flag.type === "boolean") values[name] = raw === true;
    else values[name] = convert(name, flag, String(raw));
  }
  for (const [name, flag] of Object.entries(flags)) {
    if (name in values) continue;
    if (flag.required) throw new UsageError(`missing required flag --${kebab(name)} ${placeholder(flag)}`.trimEnd());
    if (flag.default !== undefined) values[name] = Array.isArray(flag.default) ? [...flag.default] : flag.default;
    else if (flag.type === "boolean") values[name] = false;
  }
  return {
    values: values as FlagValues<F>,
    positionals: parsed.positionals,
    help: false,
    json: values.json === true,
    given,
  };
}

function describeParseError(error: unknown, command: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown flag ${flag ?? ""} (run 'nflow ${command} --help' for the flags)`.replace("  ", " ");
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/argument missing/.test(message)) return `flag ${flag ?? ""} needs a value`;
    return `flag ${flag ?? ""} does not take a value`;
  }
  return message.split("\n")[0]!;
}

function placeholder(flag: FlagSpec): string {
  if (flag.type === "boolean") return "";
  if (flag.placeholder) return `<${flag.placeholder}>`;
  if (flag.choices) return flag.choices.join("|");
  return `<${flag.type === "integers" ? "n,n,..." : flag.type === "integer" ? "n" : flag.type === "number" ? "x" : "value"}>`;
}

function formatDefault(value: FlagSpec["default"]): string {
  if (Array.isArray(value)) return value.join(",");
  return String(value);
}

/** The `--help` text of a command: usage line, summary, every flag with its default and description. */
export function helpText(spec: CommandSpec): string {
  const flags = allFlags(spec);
  const required = Object.entries(spec.flags).filter(([, f]) => f.required);
  const usage = [
    `nflow ${spec.name}`,
    ...(spec.positionals ?? []).map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`)),
    ...required.map(([n, f]) => `--${kebab(n)} ${placeholder(f)}`.trimEnd()),
    Object.keys(flags).length > required.length ? "[flags]" : "",
  ]
    .filter(Boolean)
    .join(" ");
  const rows = Object.entries(flags).map(([name, flag]) => {
    const left = `${flag.short ? `-${flag.short}, ` : "    "}--${kebab(name)} ${placeholder(flag)}`.trimEnd();
    const tail = flag.required
      ? " (required)"
      : flag.defaultText !== undefined
        ? flag.defaultText === ""
          ? ""
          : ` (default: ${flag.defaultText})`
        : flag.default !== undefined
        ? ` (default: ${formatDefault(flag.default)})`
        : flag.type === "boolean"
          ? " (default: off)"
          : "";
    return [left, `${flag.description}${tail}`] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([l]) => l.length)) + 2);
  const lines = [`Usage: ${usage}`, "", spec.summary, ""];
  if (spec.positionals?.length) {
    lines.push("Arguments:");
    for (const p of spec.positionals)
      lines.push(p.name.length + 6 > width ? `  <${p.name}>\n  ${" ".repeat(width)}${p.description}` : `  <${p.name}>`.padEnd(width + 2) + p.description);
    lines.push("");
  }
  lines.push("Flags:");
  for (const [left, right] of rows) {
    lines.push(left.length + 2 > width ? `  ${left}\n  ${" ".repeat(width)}${right}` : `  ${left.padEnd(width)}${right}`);
  }
  if (spec.notes?.length) lines.push("", ...spec.notes);
  return lines.join("\n") + "\n";
}
