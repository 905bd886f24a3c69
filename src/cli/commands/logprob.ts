/** `nflow logprob`: see transform.ts. */
import { runTransform } from "./transform.js";

export { logprobSpec as spec } from "./transform.js";

export async function run(argv: string[]): Promise<number> {
  return runTransform("logprob", argv);
}
