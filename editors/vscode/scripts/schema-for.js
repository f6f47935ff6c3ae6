// Prints, as JSON, the schema kind the extension gives each YAML file named (null: none), using the compiled
// out/projectSchemas.js. Usage: node scripts/schema-for.js FILE...
"use strict";
const { schemaKindOf } = require("../out/projectSchemas");

const result = {};
for (const file of process.argv.slice(2)) {
  result[file] = schemaKindOf(file) ?? null;
}
process.stdout.write(JSON.stringify(result) + "\n");
