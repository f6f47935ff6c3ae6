"""W801: the copies of the JSON Schemas written for editors (``.ecrm/schemas``) are out of date.

An editor validates the YAML files against those copies, so a copy from another version of ecrm-dsl gives
completion and errors that disagree with ``ecrm lint``. A copy equal to this version's schema in either language
(``ecrm --lang ja schema export`` writes Japanese descriptions) is up to date; the fix rewrites a stale copy with
this version's schema in the copy's own language.
"""

from __future__ import annotations

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import Diagnostic, Fix
from ecrm_dsl.language.i18n import DEFAULT, tr
from ecrm_dsl.project.config import ProjectConfig
from ecrm_dsl.project.editor_files import SCHEMA_COPIES, package_version, schema_copy_text, stale_copies


def check_schema_copies(config: ProjectConfig) -> list[Diagnostic]:
    findings = []
    current = package_version()
    for copy in stale_copies(config.root):
        file = config.display(copy.path)
        # The message leaves out the installed version, so that it reads the same whichever version runs.
        if copy.written_by is not None and copy.written_by != current:
            message = tr(
                "this schema copy was written by ecrm-dsl {version}, not by the installed version",
                version=copy.written_by,
            )
        else:
            message = tr(
                "this schema copy differs from the installed ecrm-dsl's {kind} schema (edited?)", kind=copy.kind
            )
        folder = SCHEMA_COPIES.as_posix()
        if copy.language == DEFAULT:
            hint = tr(
                "refresh the copies from ecrm-dsl {version}: ecrm schema export {folder}",
                version=current,
                folder=folder,
            )
        else:
            hint = tr(
                "refresh the copies from ecrm-dsl {version}: ecrm --lang {language} schema export {folder}",
                version=current,
                language=copy.language,
                folder=folder,
            )
        lines = copy.text.split("\n")
        whole_file = Span(file, 1, 1, len(lines), len(lines[-1]) + 1)
        findings.append(
            Diagnostic(
                "W801",
                message,
                Span(file, 1, 1),
                hint=hint,
                fix=Fix(
                    tr("rewrite with the schema of ecrm-dsl {version}", version=current),
                    whole_file,
                    schema_copy_text(copy.kind, copy.language),
                ),
            )
        )
    return findings
