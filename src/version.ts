// The package version, kept in step with package.json by a test.
export const PROBEGEN_VERSION = "0.1.0";
