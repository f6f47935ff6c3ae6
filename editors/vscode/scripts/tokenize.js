// Tokenizes a file with the extension's TextMate grammar exactly as VS Code does and prints, as JSON, each
// line's tokens with their text and scopes. Usage: node scripts/tokenize.js FILE
"use strict";
const fs = require("fs");
const { tokenizeText } = require("./grammar");

const file = process.argv[2];
if (!file) {
  process.stderr.write("usage: node scripts/tokenize.js FILE\n");
  process.exit(2);
}
tokenizeText(fs.readFileSync(file, "utf8")).then(
  (lines) => process.stdout.write(JSON.stringify(lines) + "\n"),
  (err) => {
    process.stderr.write(`tokenize: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
