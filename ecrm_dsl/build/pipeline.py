"""The one way from a project to a plan: load it, check it, pass the gate, compile it.

Every command that needs a plan (``compile``, ``deploy``, ``simulate``, ``graph``, ``demo``, ``diff``) and the
library façade go through :func:`build`. The gate is decided by the findings themselves, before rule selection
and suppression comments: those only change what lint *reports*. An error whose plan would be wrong or would
crash the runtime refuses the build even when ``[rules] ignore`` or ``# ecrm: ignore[...]`` hides it; only the
codes in :data:`SUPPRESSIBLE_ERRORS` — rules of house policy whose plan is still correct — can be silenced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecrm_dsl.build.compiler import compile_workspace
from ecrm_dsl.language.diagnostics import Diagnostic, Severity
from ecrm_dsl.language.i18n import n_
from ecrm_dsl.project.config import ProjectConfig
from ecrm_dsl.project.lint import LintResult, lint
from ecrm_dsl.project.rule_selection import RuleSelection

Json = dict[str, Any]

# Error codes a project may silence, and why the compiled plan stays correct without the fix.
SUPPRESSIBLE_ERRORS: dict[str, str] = {
    "E502": n_("the plan sends the template as written; the unsubscribe link may come from the mail service's footer"),
    "E504": n_("the runtime checks consent and contact points per customer and records the send as skipped"),
    "E508": n_("any holdout from 0% to 100% is executed as written"),
    "E509": n_("a priority entry for a scenario that does not exist ranks nothing"),
    "E512": n_("the runtime never lets a sell scenario message a nurture-only segment's members (recorded as skipped)"),
}


def refuses_plan(finding: Diagnostic) -> bool:
    """Whether ``finding`` stops the build, whatever the rule selection and suppression comments say."""
    return finding.rule.severity == Severity.ERROR and finding.code not in SUPPRESSIBLE_ERRORS


@dataclass(frozen=True)
class Build:
    """What :func:`build` made of a project: lint's report, the findings that refused the plan, the plan."""

    lint: LintResult
    blocking: tuple[Diagnostic, ...]  # every finding that refused the plan (reported or silenced)
    plan: Json | None
    source_map: Json | None

    @property
    def ok(self) -> bool:
        return self.plan is not None

    @property
    def silenced_blocking(self) -> tuple[Diagnostic, ...]:
        """Blocking findings that lint's report hides (rule selection or a suppression comment)."""
        reported = set(self.lint.diagnostics)
        return tuple(d for d in self.blocking if d not in reported)


def build(config: ProjectConfig, rules: RuleSelection | None = None) -> Build:
    """Lint the whole project and, if nothing refuses it, compile it into a plan and its source map.

    Refused by an error the rule cannot silence (:func:`refuses_plan`) and by any finding lint reports as an
    error (a warning raised to an error by the configuration stops the build too).
    """
    result = lint(config, rules=rules)
    blocking = {d for d in result.found if refuses_plan(d)}
    blocking |= {d for d in result.diagnostics if d.effective_severity == Severity.ERROR}
    if blocking:
        return Build(result, tuple(sorted(blocking, key=Diagnostic.sort_key)), None, None)
    plan, source_map = compile_workspace(result.workspace)
    return Build(result, (), plan, source_map)
