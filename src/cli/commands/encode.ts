/** `nflow encode`: see transform.ts. */
import { runTransform } from "./transform.js";

export { encodeSpec as spec } from "./transform.js";

export async function run(argv: string[]): Promise<number> {
  return runTransform("encode", argv);
}
