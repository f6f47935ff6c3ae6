"""``ecrm segment export NAME``: a segment's members as of a moment, as CSV for a planner (Excel welcome).

Membership comes from the store through the runtime's own condition SQL (:mod:`ecrm_dsl.store.segment_export`),
so the list is exactly who a segment trigger would see at that moment. Contact details are masked unless
``--with-contacts`` asks for them: a list like this travels by mail and chat.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from ecrm_dsl.cli.common import ExitCode, fail_with, project_config
from ecrm_dsl.cli.redact import MASK
from ecrm_dsl.cli.runtime_cmds import store_option
from ecrm_dsl.cli.store_access import existing_store
from ecrm_dsl.conditions.normal import Normal, Types, normalise
from ecrm_dsl.language.diagnostics import Severity
from ecrm_dsl.language.i18n import tr, trn
from ecrm_dsl.project.config import ProjectConfig
from ecrm_dsl.project.lint import lint
from ecrm_dsl.project.workspace import Workspace
from ecrm_dsl.store.segment_export import CONSENT, CONTACTS, PROFILE, Member, segment_members

ORDER_COLUMNS = ("order_count", "total_spent", "first_order_at", "last_order_at", "days_since_last_order")


@click.group("segment")
def segment_command() -> None:
    """Work with the project's segments: `ecrm segment export NAME` lists who is in one, as CSV."""


def export_members(
    ctx: click.Context,
    name: str,
    at_text: str | None,
    output: Path | None,
    with_contacts: bool,
    excel: bool,
    store: str | None,
) -> None:
    """Write the members of segment NAME (segments/NAME.yaml) as CSV: customer id, profile, order figures as of
    the moment, tags, consent and custom attributes; contact details masked unless --with-contacts.

    Exit 0 written, 1 unknown segment or errors in the segment files, 2 usage or no store.
    """
    config = project_config(ctx)
    ws = _checked_workspace(config)
    if name not in ws.segments:
        close = difflib.get_close_matches(name, sorted(ws.segments), n=1)
        if close:
            hint = tr("did you mean {name}?", name=close[0])
        elif ws.segments:
            hint = tr("segments: {names}", names=", ".join(sorted(ws.segments)))
        else:
            hint = tr("segments: none")
        folder = _shown(config.segments, config)
        message = tr("no segment named {name} in {folder}; {hint}", name=name, folder=folder, hint=hint)
        click.echo(f"ecrm segment export: {message}", err=True)
        raise SystemExit(int(ExitCode.FINDINGS))
    zone = ZoneInfo(ws.policies.timezone)
    at = parse_at(at_text, zone) if at_text else datetime.now(zone)
    segments: dict[str, Normal] = {n: normalise(s.condition) for n, s in ws.segments.items()}
    types = Types.from_schema(ws.schema)
    engine = existing_store(ctx, store, "segment export", upgrade=False)
    with engine.connect() as conn:
        members = segment_members(
            conn, segments[name], at=at, timezone=ws.policies.timezone, segments=segments, types=types
        )
    custom = sorted(types.attributes)
    body = members_csv(members, custom, zone, at, with_contacts=with_contacts)
    if output is None:
        click.echo(("\ufeff" if excel else "") + body, nl=False)
    else:
        output.write_text(body, encoding="utf-8-sig" if excel else "utf-8", newline="")
    shown = at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    count = len(members)
    fields = {"count": count, "name": name, "at": shown, "zone": zone.key}
    if output:
        said = trn(
            "{count} member of {name} as of {at} ({zone}) to {path}",
            "{count} members of {name} as of {at} ({zone}) to {path}",
            count,
            path=output,
            **fields,
        )
    else:
        said = trn(
            "{count} member of {name} as of {at} ({zone})",
            "{count} members of {name} as of {at} ({zone})",
            count,
            **fields,
        )
    click.echo(f"ecrm segment export: {said}", err=True)


# Added to the group, not bound to a module name: `ecrm --help` lists only this module's group.
_EXPORT_PARAMETERS: tuple[Callable[[Callable[..., Any]], Callable[..., Any]], ...] = (
    click.argument("name"),
    click.option(
        "--at", "at_text", help="As of this shop-local time (2025-06-01T10:00) or day (its end); default now."
    ),
    click.option(
        "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of stdout."
    ),
    click.option("--with-contacts", is_flag=True, help="Include email, phone, LINE id and address (masked otherwise)."),
    click.option(
        "--excel", is_flag=True, help="Start with a UTF-8 byte order mark, so that Excel reads Japanese right."
    ),
    store_option,
    click.pass_context,
)


def _export_command() -> click.Command:
    callback: Callable[..., Any] = export_members
    for decorate in reversed(_EXPORT_PARAMETERS):
        callback = decorate(callback)
    return click.command("export")(callback)


segment_command.add_command(_export_command())


def parse_at(text: str, zone: ZoneInfo) -> datetime:
    """A shop-local day (its end: everything that day counts), a shop-local time, or a time with its offset."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            tr("'{text}' is not a day or time; write 2025-06-01 or 2025-06-01T10:00", text=text), param_hint="--at"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def members_csv(members: list[Member], custom: list[str], zone: ZoneInfo, at: datetime, *, with_contacts: bool) -> str:
    """The CSV text (CRLF line ends, as Excel writes): one header row, one row per member in id order."""
    header = ["customer_id", *PROFILE, *ORDER_COLUMNS, "tags", *CONTACTS, *CONSENT, *custom]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    today = at.astimezone(zone).date()
    for member in members:
        last = member.last_order_at
        figures = [
            member.order_count,
            member.total_spent,
            _cell(member.first_order_at, zone),
            _cell(last, zone),
            (today - last.astimezone(zone).date()).days if last is not None else "",
        ]
        contacts = [_contact(member.fields.get(column), with_contacts) for column in CONTACTS]
        writer.writerow(
            [
                member.id,
                *(_cell(member.fields.get(column), zone) for column in PROFILE),
                *figures,
                " ".join(member.tags),
                *contacts,
                *(_cell(member.fields.get(column), zone) for column in CONSENT),
                *(_cell(member.custom.get(column), zone) for column in custom),
            ]
        )
    return out.getvalue()


def _contact(value: Any, with_contacts: bool) -> str:
    if value in (None, ""):
        return ""  # that the customer has no such contact point is worth seeing, and is not a contact detail
    return str(value) if with_contacts else MASK


def _cell(value: Any, zone: ZoneInfo) -> Any:
    """Times in the shop's zone to the second, booleans as 1/0 (what a spreadsheet sums), None as empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return value


def _checked_workspace(config: ProjectConfig) -> Workspace:
    """The project's workspace; exit 1 when the segments, customer schema, policies or configuration have errors
    (scenarios and templates do not change who is in a segment)."""
    result = lint(config)
    judged = [config.segments.resolve(), config.customer_schema.resolve(), config.policies.resolve()]
    if config.source is not None:
        judged.append(config.source.resolve())
    errors = [
        d
        for d in result.found
        if d.effective_severity == Severity.ERROR and any(_within(config.root / d.span.file, place) for place in judged)
    ]
    if errors:
        fail_with(sorted(errors, key=lambda d: d.sort_key()), config.root, ExitCode.FINDINGS)
    return result.workspace


def _within(path: Path, place: Path) -> bool:
    resolved = path.resolve()
    return resolved == place or place in resolved.parents


def _shown(path: Path, config: ProjectConfig) -> str:
    try:
        return str(path.relative_to(config.root)) + "/"
    except ValueError:
        return str(path)
