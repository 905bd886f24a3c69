/** What people do with a trained image flow: inpainting, latent interpolation, image and class grids. */
export * from "./inpainting-masks.js";
export * from "./inpainting.js";
export * from "./interpolation.js";
export * from "./image-samples.js";
