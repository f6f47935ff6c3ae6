"""LINE limits a template breaks as written (E520): too many buttons, a label too long, an image that is not https,
no alt text. What depends on a placeholder's value is judged again when the message is sent."""

from __future__ import annotations

from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.language.line_limits import line_problems
from ecrm_dsl.project.workspace import Workspace


def check_line_templates(ws: Workspace) -> list[Diagnostic]:
    findings: list[Diagnostic] = []
    for template in ws.templates.values():
        content = template.channels.get("line")
        if not isinstance(content, dict):
            continue
        for problem in line_problems(content, rendered=False):
            span = template.content_spans.get(("line", *problem.path), template.span)
            findings.append(
                Diagnostic(
                    "E520",
                    tr("template '{template}': {problem}", template=template.name, problem=problem.text),
                    span,
                    hint=tr(
                        "LINE refuses the whole push otherwise; see the Messaging API reference for text, image and "
                        "buttons messages"
                    ),
                )
            )
    return findings
