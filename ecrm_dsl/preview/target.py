"""What to preview: a template, or a scenario's step (its template, channel, fallbacks and params)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.plan.nodes import SendNode
from ecrm_dsl.plan.scenario import ScenarioPlan


class PreviewError(ValueError):
    """The preview cannot be made: an unknown name (the message says which, and what was meant), or bad input."""


class UnsentTemplate(PreviewError):
    """The plan has no such template: the plan holds only the templates its scenarios send."""


@dataclass(frozen=True)
class Target:
    """``template`` alone, or the send step ``step`` of ``scenario`` (whose template it is)."""

    template: str
    scenario: ScenarioPlan | None = None
    step: SendNode | None = None

    def __str__(self) -> str:
        return f"{self.scenario.id}:{self.step.id}" if self.scenario and self.step else self.template


def resolve(plan: Plan, text: str) -> Target:
    """``TEMPLATE`` or ``SCENARIO:STEP`` in ``plan``; anything unknown is a PreviewError with a "did you mean"."""
    scenario_id, colon, step_id = text.partition(":")
    if not colon:
        if text not in plan.templates:
            raise UnsentTemplate(
                tr(
                    "no template '{name}' among those the scenarios send{did_you_mean}",
                    name=text,
                    did_you_mean=did_you_mean(text, plan.templates),
                )
            )
        return Target(text)
    scenario = plan.scenario(scenario_id)
    if scenario is None:
        near = did_you_mean(scenario_id, (s.id for s in plan.scenarios))
        raise PreviewError(tr("no scenario '{name}'{did_you_mean}", name=scenario_id, did_you_mean=near))
    sends = {node.id: node for node in scenario.nodes if isinstance(node, SendNode)}
    step = sends.get(step_id)
    if step is None:
        others = [node.id for node in scenario.nodes if node.id == step_id]
        near = did_you_mean(step_id, sends)
        listed = ", ".join(sorted(sends)) or tr("none")
        fields = {"step": step_id, "scenario": scenario_id, "did_you_mean": near, "steps": listed}
        if others:
            message = tr("step '{step}' of {scenario} sends nothing{did_you_mean} (its send steps: {steps})", **fields)
        else:
            message = tr("{scenario} has no step '{step}'{did_you_mean} (its send steps: {steps})", **fields)
        raise PreviewError(message)
    return Target(step.template, scenario, step)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest known name, or ``""`` when none is close."""
    names = sorted(known)
    same = [known_name for known_name in names if known_name.lower() == name.lower()]  # a slip of the shift key
    close = same or difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return tr("; did you mean '{name}'?", name=close[0]) if close else ""
