"""W801: the copies of the JSON Schemas written for editors (``.ecrm/schemas``) are out of date.

An editor validates the YAML files against those copies, so a copy from another version of ecrm-dsl gives
completion and errors that disagree with ``ecrm lint``. The fix rewrites the copy with this version's schema.
"""

from __future__ import annotations

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import Diagnostic, Fix
from ecrm_dsl.project.config import ProjectConfig
from ecrm_dsl.project.editor_files import SCHEMA_COPIES, package_version, schema_copy_text, stale_copies


def check_schema_copies(config: ProjectConfig) -> list[Diagnostic]:
    findings = []
    current = package_version()
    for copy in stale_copies(config.root):
        file = config.display(copy.path)
        kind = copy.path.name.removesuffix(".schema.json")
        # The message leaves out the installed version, so that it reads the same whichever version runs.
        if copy.written_by is not None and copy.written_by != current:
            message = f"this schema copy was written by ecrm-dsl {copy.written_by}, not by the installed version"
        else:
            message = f"this schema copy differs from the installed ecrm-dsl's {kind} schema (edited?)"
        lines = copy.text.split("\n")
        whole_file = Span(file, 1, 1, len(lines), len(lines[-1]) + 1)
        findings.append(
            Diagnostic(
                "W801",
                message,
                Span(file, 1, 1),
                hint=f"refresh the copies from ecrm-dsl {current}: ecrm schema export {SCHEMA_COPIES.as_posix()}",
                fix=Fix(f"rewrite with the schema of ecrm-dsl {current}", whole_file, schema_copy_text(kind)),
            )
        )
    return findings
