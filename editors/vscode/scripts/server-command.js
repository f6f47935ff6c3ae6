// Prints, as JSON, what the extension makes of an `ecrm.path` setting (compiled out/serverCommand.js).
// Usage: node scripts/server-command.js SETTING WORKSPACE_FOLDER   (PATH from the environment)
"use strict";
const { resolveServerCommand } = require("../out/serverCommand");

process.stdout.write(JSON.stringify(resolveServerCommand(process.argv[2], process.argv[3] || undefined)) + "\n");
