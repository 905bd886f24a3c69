/** The shipped MNIST test digits 0..99, gunzipped IDX files as base64 (web/vite.config.ts `shippedData`). */
declare module "virtual:shipped-digits" {
  export const images: string;
  export const labels: string;
}
