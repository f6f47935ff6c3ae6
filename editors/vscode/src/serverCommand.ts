// Which file `ecrm lsp` runs from, given the `ecrm.path` setting, and what to tell the user when there is none.
// No `vscode` import: the tests run this module under plain node.
import * as fs from "fs";
import * as path from "path";

export const INSTALL_COMMAND = "pip install 'ecrm-dsl[lsp]'";

export interface ServerCommand {
  executable?: string; // the file to run with the argument `lsp`
  problem?: string; // why there is none, and how to get one
}

/**
 * Resolves the setting: `${workspaceFolder}` is the first workspace folder (as in VS Code's own settings); a value
 * with a slash is a path, anything else is looked up on PATH (with PATHEXT on Windows).
 */
export function resolveServerCommand(
  setting: string,
  workspaceFolder: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): ServerCommand {
  const command = (setting.trim() || "ecrm").replace(/\$\{workspaceFolder\}/g, workspaceFolder ?? "");
  const extensions = platform === "win32" ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [];
  const candidates = (base: string) => [base, ...extensions.map((ext) => base + ext.toLowerCase())];
  let executable: string | undefined;
  if (command.includes("/") || command.includes("\\")) {
    executable = candidates(path.resolve(workspaceFolder ?? "", command)).find(isExecutableFile);
  } else {
    const delimiter = platform === "win32" ? ";" : ":";
    for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
      executable = candidates(path.join(dir, command)).find(isExecutableFile);
      if (executable) {
        break;
      }
    }
  }
  if (executable) {
    return { executable };
  }
  return {
    problem:
      `the command "${command}" was not found, so the language server (diagnostics, completion, hover) is off. ` +
      `Install it with ${INSTALL_COMMAND}, or set "ecrm.path" to the ecrm of your virtualenv ` +
      `(e.g. \${workspaceFolder}/.venv/bin/ecrm). Highlighting and YAML completion work without it.`,
  };
}

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The environment `ecrm lsp` runs in: the editor's own, with `ECRM_LANG` set when the `ecrm.language` setting
 * names a language (the server prefers it to the locale VS Code sends, which stays English without the Japanese
 * language pack). An unknown value is treated as `auto`.
 */
export function serverEnvironment(
  language: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  if (language === "ja" || language === "en") {
    return { ...env, ECRM_LANG: language };
  }
  return { ...env };
}
