// Starts `ecrm lsp` (the language server of the ecrm-dsl Python package) over stdio for .ecrm files and the
// project's YAML files. Highlighting and the YAML schemas work without it; the server adds diagnostics,
// completion, hover, go to definition, formatting and quick fixes.
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";
import { schemaKindOf } from "./projectSchemas";
import { INSTALL_COMMAND, resolveServerCommand, serverEnvironment } from "./serverCommand";

const SCHEMA_SCHEME = "ecrm-schema";
let client: LanguageClient | undefined;

/** What the Red Hat YAML extension's activate() returns (its documented schema contributor API). */
interface YamlExtensionApi {
  registerContributor(
    schema: string,
    requestSchema: (resource: string) => string | undefined,
    requestSchemaContent: (uri: string) => string,
    label?: string,
  ): boolean;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("ecrm-dsl");
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand("ecrm.restartServer", () => restart(output)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("ecrm.path") || event.affectsConfiguration("ecrm.language")) {
        void restart(output);
      }
    }),
  );
  await registerYamlSchemas(context, output);
  await start(output);
}

/**
 * Gives the project's YAML files the schemas shipped in this extension (completion, hover and errors from the
 * YAML extension). A schema is given only to files of an ecrm-dsl project, found from its ecrm.toml, rather than
 * by a path pattern in `contributes.yamlValidation`, which would also claim every Helm chart's templates/.
 * A `# yaml-language-server: $schema=` line in a file still wins.
 */
async function registerYamlSchemas(context: vscode.ExtensionContext, output: vscode.OutputChannel): Promise<void> {
  const yaml = vscode.extensions.getExtension<YamlExtensionApi>("redhat.vscode-yaml");
  try {
    const api = yaml ? await yaml.activate() : undefined;
    api?.registerContributor(
      SCHEMA_SCHEME,
      (resource) => {
        const uri = vscode.Uri.parse(resource);
        const kind = uri.scheme === "file" ? schemaKindOf(uri.fsPath) : undefined;
        return kind ? `${SCHEMA_SCHEME}://schemas/${kind}.schema.json` : undefined;
      },
      (schemaUri) => {
        const name = path.posix.basename(vscode.Uri.parse(schemaUri).path);
        return fs.readFileSync(path.join(context.extensionPath, "schemas", name), "utf8");
      },
      "ecrm-dsl",
    );
  } catch (error) {
    output.appendLine(`the YAML schemas are not registered: ${String(error)}`);
  }
}

export async function deactivate(): Promise<void> {
  await stop();
}

async function restart(output: vscode.OutputChannel): Promise<void> {
  await stop();
  await start(output);
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop();
  }
}

async function start(output: vscode.OutputChannel): Promise<void> {
  const settings = vscode.workspace.getConfiguration("ecrm");
  const setting = settings.get<string>("path", "ecrm");
  const { executable, problem } = resolveServerCommand(setting, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
  if (executable === undefined) {
    void reportMissing(problem ?? "");
    return;
  }
  // No `transport`: stdio is the default, and `TransportKind.stdio` would make the client append `--stdio`, which
  // `ecrm lsp` rejects (exit 2) — the server never started in a real VS Code that way.
  const serverOptions: ServerOptions = {
    command: executable,
    args: ["lsp"],
    options: {
      cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      env: serverEnvironment(settings.get<string>("language", "auto")),
    },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "ecrm" },
      { scheme: "file", language: "yaml" },
    ],
    outputChannel: output,
  };
  // The id "ecrm" makes the client read the `ecrm.trace.server` setting.
  const candidate = new LanguageClient("ecrm", "ecrm-dsl", serverOptions, clientOptions);
  try {
    await candidate.start();
    client = candidate;
  } catch (error) {
    output.appendLine(`ecrm lsp did not start: ${String(error)}`);
    void vscode.window.showErrorMessage(
      `ecrm-dsl: "${executable} lsp" did not start (${String(error)}). The language server needs ` +
        `ecrm-dsl with its lsp extra: ${INSTALL_COMMAND}`,
      "Copy install command",
    ).then((choice) => copyInstallCommand(choice));
  }
}

async function reportMissing(problem: string): Promise<void> {
  const choice = await vscode.window.showErrorMessage(
    `ecrm-dsl: ${problem}`,
    "Copy install command",
    "Open settings",
  );
  if (choice === "Open settings") {
    await vscode.commands.executeCommand("workbench.action.openSettings", "ecrm.path");
  } else {
    await copyInstallCommand(choice);
  }
}

async function copyInstallCommand(choice: string | undefined): Promise<void> {
  if (choice === "Copy install command") {
    await vscode.env.clipboard.writeText(INSTALL_COMMAND);
  }
}
