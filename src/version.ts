import { createRequire } from "node:module";

/** Wire protocol version: bumped whenever a message changes shape or meaning. */
export const PROTOCOL_VERSION = 4;

const require = createRequire(import.meta.url);
/** Package version, read once from package.json so it can never drift from the published one. */
export const PACKAGE_VERSION: string = (require("../package.json") as { version: string }).version;
