/** `nflow decode`: see transform.ts. */
import { runTransform } from "./transform.js";

export { decodeSpec as spec } from "./transform.js";

export async function run(argv: string[]): Promise<number> {
  return runTransform("decode", argv);
}
