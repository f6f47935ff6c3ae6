"""One diagnostic type for every layer: parsing, schema, semantic checks and the CLI.

Rule codes are stable forever: a code is never renumbered or reused, only retired. The registry below is the
single source of the rule list that the README documents and the SARIF output describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.i18n import n_


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str


@dataclass(frozen=True, slots=True)
class Fix:
    """One safe edit that resolves a finding: the text at `span` (end exclusive, like SARIF) becomes `replacement`.

    Only attached where there is exactly one right answer (a close spelling, a missing key with one value), so
    `ecrm lint --fix` and the editor's quick fix can apply it without asking.
    """

    title: str
    span: Span
    replacement: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A finding: where, which rule, what is wrong, and how to fix it."""

    code: str
    message: str
    span: Span
    hint: str | None = None
    severity: Severity | None = None  # None: the rule's default
    fix: Fix | None = None

    @property
    def rule(self) -> Rule:
        return RULES[self.code]

    @property
    def effective_severity(self) -> Severity:
        return self.severity or self.rule.severity

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.span.file, self.span.line, self.span.column, self.code, self.message)


class DiagnosticError(Exception):
    """Raised where a stage cannot go on; carries the findings that stopped it."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics


_E, _W = Severity.ERROR, Severity.WARNING

RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in [
        # input
        Rule("E001", "unreadable-file", _E, n_("The file cannot be read, or is not UTF-8 text.")),
        Rule("E002", "file-too-large", _E, n_("The file is larger than the size limit for scenario sources.")),
        Rule("E003", "yaml-syntax", _E, n_("The YAML is malformed.")),
        Rule(
            "E004", "yaml-alias", _E, n_("YAML anchors, aliases and tags are not allowed (alias bombs, object tags).")
        ),
        Rule("E005", "text-syntax", _E, n_("The text syntax does not parse.")),
        Rule("E006", "invalid-literal", _E, n_("A duration, amount, time, date or percentage is malformed.")),
        Rule("E007", "config", _E, n_("The project configuration is missing or invalid.")),
        Rule(
            "E008",
            "nesting-too-deep",
            _E,
            n_("A file, a block of steps or a condition is nested deeper than the front end's limit."),
        ),
        Rule("E009", "condition-too-long", _E, n_("A condition is longer than the front end's limit.")),
        # shape
        Rule("E100", "schema", _E, n_("The YAML does not match the JSON Schema for its file kind.")),
        Rule("E101", "missing-step-id", _E, n_("A step other than send has no id.")),
        # references
        Rule("E201", "unknown-segment", _E, n_("A segment is referenced that no segment file defines.")),
        Rule("E202", "unknown-template", _E, n_("A template is referenced that no template file defines.")),
        Rule("E203", "unknown-channel", _E, n_("A channel is not one of the channels ecrm-dsl delivers on.")),
        Rule("E204", "unknown-attribute", _E, n_("A name is not an attribute, metric or event property in scope.")),
        Rule("E205", "unknown-event", _E, n_("An event is neither built in nor declared in the customer schema.")),
        Rule("E206", "unknown-function", _E, n_("A function is not one of the built-in condition functions.")),
        Rule("E207", "unknown-anchor", _E, n_("A timing anchor does not exist or is not available for this trigger.")),
        Rule("E208", "unknown-kpi", _W, n_("The hypothesis names a KPI ecrm-dsl does not know.")),
        Rule("E209", "template-channel", _E, n_("A template is sent on a channel it has no content for.")),
        Rule(
            "E210", "unknown-param", _E, n_("A send passes a parameter the template does not declare, or misses one.")
        ),
        Rule(
            "E211",
            "read-only-attribute",
            _E,
            n_(
                "An update sets an attribute that is computed from orders, or that only the customer may change "
                "(consent, contact points)."
            ),
        ),
        Rule(
            "E212",
            "hypothesis-target",
            _E,
            n_("A hypothesis target's unit does not fit its KPI, or is not measurable."),
        ),
        # types
        Rule(
            "E301",
            "type-mismatch",
            _E,
            n_("Compared or computed values, or a value and its attribute, differ in type."),
        ),
        Rule("E302", "bad-arguments", _E, n_("A function gets the wrong number or types of arguments.")),
        Rule("E303", "not-boolean", _E, n_("A condition does not evaluate to true or false.")),
        # structure
        Rule("E401", "duplicate-step-id", _E, n_("Two steps of one scenario share an id.")),
        Rule("E402", "duplicate-scenario-id", _E, n_("Two scenarios share an id.")),
        Rule("W403", "unreachable-step", _W, n_("No path reaches the step (it follows an exit on every path).")),
        Rule("E404", "negative-wait", _E, n_("A wait goes back in time relative to the previous step.")),
        Rule(
            "E405",
            "wait-without-timeout",
            _E,
            n_("A wait for an event has no timeout, so customers could wait forever."),
        ),
        Rule("W406", "never-true", _W, n_("A condition can never be true.")),
        Rule("W407", "always-true", _W, n_("A condition is always true, so the guard or arm has no effect.")),
        Rule(
            "E408", "bad-split", _E, n_("A split needs two or more variants with distinct names and positive weights.")
        ),
        Rule("E409", "duplicate-definition", _E, n_("Two segments or templates share a name.")),
        Rule("E410", "invalid-cron", _E, n_("A schedule is not a valid five-field cron expression.")),
        Rule("E411", "segment-cycle", _E, n_("Segments refer to each other in a cycle.")),
        Rule("E412", "else-not-last", _E, n_("A branch has an else arm that is not last, or more than one.")),
        # consent and policy
        Rule(
            "E501",
            "no-consent-rule",
            _E,
            n_("A marketing send uses a channel that has no consent rule in the policies."),
        ),
        Rule("E502", "no-unsubscribe-link", _E, n_("A marketing email template has no unsubscribe link.")),
        Rule(
            "E503", "unknown-placeholder", _E, n_("A template placeholder is not in the customer schema or its params.")
        ),
        Rule(
            "E504", "unreachable-customer", _E, n_("A send can be reached with no consented channel and no fallback.")
        ),
        Rule(
            "W505",
            "segment-entry-every-purchase",
            _W,
            n_("A segment-entry trigger on a purchase segment fires once, not on every purchase."),
        ),
        Rule("W506", "no-hypothesis", _W, n_("The scenario states no hypothesis (which KPI it should move).")),
        Rule("W507", "no-goal", _W, n_("A sell scenario has no goal, so its conversions cannot be measured.")),
        Rule("E508", "holdout-range", _E, n_("A holdout must be between 0% and 50%.")),
        Rule("E509", "unknown-scenario-in-policy", _E, n_("The policies name a scenario that does not exist.")),
        Rule("E510", "transactional-in-marketing", _W, n_("A transactional template is sent from a sell scenario.")),
        # across scenarios
        Rule(
            "W511",
            "same-day-over-cap",
            _W,
            n_(
                "Scenarios entered by the same trigger can message one customer more often in a day "
                "than the caps allow."
            ),
        ),
        Rule(
            "E512",
            "sell-to-nurture-only",
            _E,
            n_("A sell scenario targets a segment that the policies reserve for nurture scenarios."),
        ),
        Rule(
            "W513",
            "overlapping-coupons",
            _W,
            n_("Scenarios entered by the same trigger send coupons to one customer within a few days of each other."),
        ),
        Rule("E520", "line-message-limit", _E, n_("A template's LINE content breaks a limit of LINE's Messaging API.")),
        # with the store (ecrm lint --store)
        Rule(
            "W530",
            "coupon-pool-running-out",
            _W,
            n_("At the pace a replay of the store's recent weeks asks for, a coupon pool runs out within four weeks."),
        ),
        # presets
        Rule("E601", "unknown-preset", _E, n_("A scenario uses a preset that does not exist.")),
        Rule("E602", "preset-parameter", _E, n_("A preset parameter is missing, unknown or of the wrong type.")),
        # editor files
        Rule(
            "W801",
            "stale-schema-copy",
            _W,
            n_("A copy of the JSON Schemas written for editors (.ecrm/schemas) differs from the installed version's."),
        ),
        # suppression comments
        Rule(
            "W901",
            "unused-suppression",
            _W,
            n_("A suppression comment matches no finding, names an unknown rule, or is malformed."),
        ),
    ]
}
