/**
 * The library version written into every model file and printed by `nflow --version`. A constant
 * (not read from package.json at run time) so that it works in the browser too; a test keeps it
 * equal to package.json's version.
 */
export const LIBRARY_VERSION = "0.1.0";
