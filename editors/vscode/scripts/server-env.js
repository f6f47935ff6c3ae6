// Prints, as JSON, the ECRM_LANG `ecrm lsp` gets for an `ecrm.language` setting (compiled out/serverCommand.js).
// Usage: node scripts/server-env.js SETTING   (ECRM_LANG from the environment, when set)
"use strict";
const { serverEnvironment } = require("../out/serverCommand");

const env = serverEnvironment(process.argv[2], process.env);
process.stdout.write(JSON.stringify({ ECRM_LANG: env.ECRM_LANG ?? null }) + "\n");
