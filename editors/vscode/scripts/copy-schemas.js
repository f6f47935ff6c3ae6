// Copies the package's JSON Schemas (ecrm_dsl/schemas) next to the extension, so that
// contributes.yamlValidation points at the same files `ecrm lint` validates with.
"use strict";
const fs = require("fs");
const path = require("path");

const source = path.resolve(__dirname, "..", "..", "..", "ecrm_dsl", "schemas");
const target = path.resolve(__dirname, "..", "schemas");
const kinds = ["scenario", "segment", "template", "preset", "customer_schema", "policies"];

fs.mkdirSync(target, { recursive: true });
for (const kind of kinds) {
  fs.copyFileSync(path.join(source, `${kind}.schema.json`), path.join(target, `${kind}.schema.json`));
}
