/**
 * Device set-up. jax-js's default device is `wasm`, which needs no initialisation; in Node.js the
 * bare `init()` must not be called (it reads `navigator`). In browsers `init()` starts the
 * backends and WebGPU is preferred when the browser offers it.
 */
import { jax, defaultDevice, type Device } from "./jax.js";

/** True when running under Node.js (no WebGPU, wasm is the fast device). */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === "string";
}

/**
 * Picks the compute device. `prefer` defaults to the fastest available: WebGPU in browsers that
 * have it, else wasm. `cpu` is exact (plain JS doubles) and slow: for tests of exactness.
 * Returns the device in use.
 */
export async function initEngine(prefer?: Device): Promise<Device> {
  if (isNode()) {
    const device = prefer === "cpu" ? "cpu" : "wasm";
    defaultDevice(device);
    return device;
  }
  const available = await jax.init();
  const order: Device[] = prefer ? [prefer, "webgpu", "wasm"] : ["webgpu", "wasm"];
  const device = order.find((d) => available.includes(d)) ?? "wasm";
  defaultDevice(device);
  return device;
}

/** The device new arrays are placed on. */
export function currentDevice(): Device {
  return defaultDevice();
}
