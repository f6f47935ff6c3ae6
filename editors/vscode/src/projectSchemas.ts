// Which JSON Schema a YAML file of an ecrm-dsl project takes, decided the way `ecrm` finds its project: the
// nearest ecrm.toml (or pyproject.toml with a [tool.ecrm] table) above the file names the folders. Files outside
// such a project get no schema, so a Helm chart's templates/ or another tool's policies.yaml are left alone.
// No `vscode` import: the tests run this module under plain node.
import * as fs from "fs";
import * as path from "path";

export type SchemaKind = "scenario" | "segment" | "template" | "preset" | "customer_schema" | "policies";

interface Layout {
  scenarios: string;
  segments: string;
  templates: string;
  presets: string[];
  customerSchema: string;
  policies: string;
}

const DEFAULTS: Record<string, string> = {
  scenarios: "scenarios",
  segments: "segments",
  templates: "templates",
  customer_schema: "customer_schema.yaml",
  policies: "policies.yaml",
};

/** The schema for the file at `file` (an absolute path), or undefined when it is not an ecrm-dsl YAML file. */
export function schemaKindOf(file: string): SchemaKind | undefined {
  if (!/\.ya?ml$/.test(file)) {
    return undefined;
  }
  const layout = findLayout(path.dirname(file));
  if (layout === undefined) {
    return undefined;
  }
  const same = (a: string, b: string) => path.relative(a, b) === "";
  const inside = (folder: string) => {
    const relative = path.relative(folder, file);
    return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
  };
  if (same(file, layout.customerSchema)) {
    return "customer_schema";
  }
  if (same(file, layout.policies)) {
    return "policies";
  }
  // Resource folders before scenarios: this repository keeps its segments inside its scenarios folder.
  if (inside(layout.segments)) {
    return "segment";
  }
  if (inside(layout.templates)) {
    return "template";
  }
  if (layout.presets.some(inside)) {
    return "preset";
  }
  if (same(path.dirname(file), layout.scenarios)) {
    return "scenario";
  }
  return undefined;
}

function findLayout(start: string): Layout | undefined {
  for (let folder = start; ; folder = path.dirname(folder)) {
    const ecrmToml = readFile(path.join(folder, "ecrm.toml"));
    if (ecrmToml !== undefined) {
      return layoutFrom(folder, ecrmToml);
    }
    const pyproject = readFile(path.join(folder, "pyproject.toml"));
    if (pyproject !== undefined && pyproject.includes("[tool.ecrm]")) {
      return layoutFrom(folder, pyproject.slice(pyproject.indexOf("[tool.ecrm]") + "[tool.ecrm]".length));
    }
    if (path.dirname(folder) === folder) {
      return undefined;
    }
  }
}

/** The folder settings of a configuration's top table (a value that is not a plain string keeps its default). */
function layoutFrom(root: string, text: string): Layout {
  const table = text.split(/^\s*\[/m)[0];
  const value = (key: string) => {
    const found = new RegExp(`^\\s*${key}\\s*=\\s*"([^"\\\\]*)"`, "m").exec(table);
    return path.resolve(root, found ? found[1] : DEFAULTS[key]);
  };
  const presets = /^\s*presets\s*=\s*\[([^\]]*)\]/m.exec(table);
  return {
    scenarios: value("scenarios"),
    segments: value("segments"),
    templates: value("templates"),
    presets: presets ? [...presets[1].matchAll(/"([^"\\]*)"/g)].map((m) => path.resolve(root, m[1])) : [],
    customerSchema: value("customer_schema"),
    policies: value("policies"),
  };
}

function readFile(file: string): string | undefined {
  try {
    return fs.statSync(file).isFile() ? fs.readFileSync(file, "utf8") : undefined;
  } catch {
    return undefined;
  }
}
