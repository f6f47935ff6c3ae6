// Tokenizes a file with the extension's TextMate grammar exactly as VS Code does (vscode-textmate on the
// Oniguruma regex engine) and prints, as JSON, each line's tokens with their text and scopes.
// Usage: node scripts/tokenize.js FILE
"use strict";
const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

async function main() {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: node scripts/tokenize.js FILE\n");
    process.exit(2);
  }
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== "source.ecrm") return null;
      const grammarPath = path.join(__dirname, "..", "syntaxes", "ecrm.tmLanguage.json");
      return vsctm.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath);
    },
  });
  const grammar = await registry.loadGrammar("source.ecrm");
  const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
  let state = vsctm.INITIAL;
  const out = [];
  for (const line of lines) {
    const result = grammar.tokenizeLine(line, state);
    out.push(
      result.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }))
    );
    state = result.ruleStack;
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((err) => {
  process.stderr.write(`tokenize: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
