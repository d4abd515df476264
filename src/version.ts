/** The package version, read once from package.json at build time by the caller. */
export const VERSION = '0.1.0';
