// Renders a file as HTML in the colours VS Code's Dark+ theme gives the grammar's scopes, for the README's
// picture of the highlighting. Usage: node scripts/render-html.js FILE > page.html
"use strict";
const fs = require("fs");
const { tokenizeText } = require("./grammar");

// Scope prefixes and their Dark+ colours; the longest prefix of the innermost scope that has one wins.
const COLOURS = [
  ["comment", "#6A9955"],
  ["string", "#CE9178"],
  ["constant.character.escape", "#D7BA7D"],
  ["constant.numeric", "#B5CEA8"],
  ["constant.language", "#569CD6"],
  ["constant.other", "#4FC1FF"],
  ["storage.type", "#569CD6"],
  ["keyword.control", "#C586C0"],
  ["keyword.operator.word", "#569CD6"],
  ["keyword.operator", "#D4D4D4"],
  ["keyword", "#569CD6"],
  ["entity.name.type", "#4EC9B0"],
  ["entity.name.function", "#DCDCAA"],
  ["entity.name.label", "#DCDCAA"],
  ["entity.name.section", "#4EC9B0"],
  ["support.function", "#DCDCAA"],
  ["support.constant", "#4FC1FF"],
  ["variable.other.placeholder", "#9CDCFE"],
  ["variable", "#9CDCFE"],
];

function colourOf(scopes) {
  for (const scope of [...scopes].reverse()) {
    const found = COLOURS.filter(([prefix]) => scope === prefix || scope.startsWith(prefix + "."))
      .sort((a, b) => b[0].length - a[0].length)[0];
    if (found) return found[1];
  }
  return "#D4D4D4";
}

const escape = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

async function main() {
  const lines = await tokenizeText(fs.readFileSync(process.argv[2], "utf8"));
  const body = lines
    .map((tokens) => tokens.map((t) => `<span style="color:${colourOf(t.scopes)}">${escape(t.text)}</span>`).join(""))
    .join("\n");
  process.stdout.write(
    '<!doctype html><meta charset="utf-8"><body style="margin:0;background:#1E1E1E">' +
      '<pre style="margin:0;padding:16px;font:14px/1.5 \'IPAGothic\',monospace;' +
      `color:#D4D4D4">${body}</pre></body>\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`render-html: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
