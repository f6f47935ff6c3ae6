"""Beside the rule registry: why each rule matters, and what ``ecrm lint --fix`` does for it, if anything.

The rule pages (``docs/rules/CODE.md``, printed by ``ecrm rule CODE``) are generated from these, the registry
and the golden cases; a test keeps every rule covered here.
"""

from __future__ import annotations

from ecrm_dsl.language.i18n import n_

WHY: dict[str, str] = {
    "E001": n_(
        "A file that is not UTF-8 text (Shift-JIS from Excel, a NUL byte from a binary) cannot be read the way "
        "the author sees it: its Japanese text would turn into other characters in messages and conditions."
    ),
    "E002": n_(
        "A source over 1 MB is not hand-written; reading it whole would let one file stall every lint, editor "
        "and CI run. It is refused before it is read."
    ),
    "E003": n_(
        "YAML that does not parse has no meaning at all; nothing in the file is checked or compiled until it does."
    ),
    "E004": n_(
        "Anchors and aliases let a few lines expand to gigabytes (the billion-laughs attack) and tags can build "
        "objects; scenario files must mean only what they show."
    ),
    "E005": n_("A text scenario that does not parse is not compiled; the message says what was expected there."),
    "E006": n_(
        "A malformed duration, amount, time, date or percentage cannot be given a value, so the step or "
        "condition that holds it has no meaning."
    ),
    "E007": n_(
        "Without a valid configuration nothing knows where the scenarios, segments and templates are; nothing "
        "else is checked."
    ),
    "E008": n_("Nesting past the limit is a generated or hostile file; checking it would exhaust the stack."),
    "E009": n_("A condition of more than 10,000 characters cannot be reviewed; it belongs in a segment or the schema."),
    "E100": n_(
        "A file of the wrong shape (a key missing, misspelt or of the wrong type) cannot be turned into a "
        "scenario, segment or template; the finding names the key and the allowed values."
    ),
    "E101": n_(
        "Step ids let customers in flight move to a new version of a scenario; a step without one cannot be "
        "matched across versions."
    ),
    "E201": n_("A segment that does not exist matches nobody: the trigger or condition would silently never fire."),
    "E202": n_("A send of a template that does not exist cannot be rendered; the customer would get nothing."),
    "E203": n_("A channel ecrm-dsl does not deliver on can never send; the message would be lost."),
    "E204": n_(
        "A misspelt attribute or an event property the event lacks is null at run time, so the condition "
        "quietly never holds and the scenario reaches nobody."
    ),
    "E205": n_(
        "An event that is neither built in nor declared never arrives: the trigger, goal or stop rule never fires."
    ),
    "E206": n_("An unknown function has no meaning at run time; the condition could not be evaluated."),
    "E207": n_(
        "A timing anchor the entry event does not carry (a delivery date for a segment trigger) gives no due "
        "time: the step would never run."
    ),
    "E208": n_(
        "A hypothesis on a KPI the report does not know cannot be measured, so nobody learns whether the "
        "scenario worked."
    ),
    "E209": n_("A template without content for the channel it is sent on renders nothing on that channel."),
    "E210": n_("A parameter the template does not declare is dropped, and a missing one leaves a hole in the message."),
    "E211": n_(
        "Order counts and spend are recomputed from orders, and consent belongs to the customer: overwriting "
        "them would be undone at once or break the law on consent."
    ),
    "E212": n_(
        "A target in a unit that does not fit its KPI (points for an amount of money) cannot be judged, so the "
        "report could give no verdict."
    ),
    "E301": n_(
        "Comparing values of different types (money with a plain number, text with a number) is never true as "
        "meant; the condition would select the wrong customers or none."
    ),
    "E302": n_("A function with the wrong arguments cannot be evaluated; the message says what it takes."),
    "E303": n_(
        "A guard or trigger condition must be true or false; a number or text there is a condition left unfinished."
    ),
    "E401": n_(
        "Two steps with one id make it impossible to say where a customer is, or to move them to a new version."
    ),
    "E402": n_("Two scenarios with one id would overwrite each other in the plan and in the store's history."),
    "W403": n_("A step no path reaches is dead text that reviewers read as if it ran."),
    "E404": n_("A step timed before the previous one would fire at once, not when the author meant."),
    "E405": n_("A wait for an event with no timeout keeps everyone who never does it in the flow forever."),
    "W406": n_("A condition that can never hold sends nothing; it is almost always a typo or the wrong operator."),
    "W407": n_("A condition that always holds filters nothing, so the guard or arm does not do what it says."),
    "E408": n_("A split needs two or more distinct variants with positive weights, or customers cannot be assigned."),
    "E409": n_("Two segments or templates with one name make every reference to that name ambiguous."),
    "E410": n_("A schedule that is not a five-field cron expression never fires."),
    "E411": n_("Segments defined in terms of each other in a cycle have no membership that could be computed."),
    "E412": n_("An else arm that is not last would hide the arms after it (and two elses are ambiguous)."),
    "E501": n_("A marketing message on a channel with no consent rule could reach customers who never agreed to it."),
    "E502": n_(
        "A marketing email must let the customer unsubscribe (特定電子メール法); without the link every send "
        "risks a complaint."
    ),
    "E503": n_("An unknown placeholder renders empty, or breaks the message, in front of the customer."),
    "E504": n_("A send that can be reached with no consented channel and no fallback delivers nothing on that path."),
    "W505": n_(
        'A segment trigger enrolls a customer when they start matching, once: "bought recently" fires on the '
        "first purchase, not on every one."
    ),
    "W506": n_("Without a hypothesis nobody can say whether the scenario worked, or which KPI it should move."),
    "W507": n_("A sell scenario without a goal has no conversions to count, so its uplift cannot be measured."),
    "E508": n_("A holdout over 50% leaves most customers unmessaged; under 0% has no meaning."),
    "E509": n_("A priority entry for a scenario that does not exist ranks nothing and usually hides a rename."),
    "E510": n_(
        "A transactional template skips consent and quiet hours; sent from a marketing flow it would message "
        "customers who opted out."
    ),
    "W511": n_(
        "Scenarios started by the same trigger can together message one customer more than the frequency caps "
        "allow; the later sends would be deferred or dropped."
    ),
    "E512": n_(
        "The policies reserve the segment for nurture scenarios; a sell scenario there breaks the shop's own rule."
    ),
    "W513": n_(
        "Two coupons within a few days of each other after one trigger teach customers to wait for the better one."
    ),
    "E520": n_("LINE refuses a message past its Messaging API limits; nothing would be delivered."),
    "E601": n_("A preset that does not exist cannot be expanded into a scenario."),
    "E602": n_("A preset parameter that is missing, unknown or of the wrong type would expand into a broken scenario."),
    "W530": n_(
        "A coupon pool that runs dry mid-campaign leaves the customers after that without the code the message "
        "promises; import more codes before it happens."
    ),
    "W801": n_(
        "An editor validating against an old copy of the schemas flags valid files and misses new mistakes; "
        "`ecrm schema export .ecrm/schemas` writes the copies of the installed version."
    ),
    "W901": n_(
        "A suppression that covers nothing hides nothing today but will hide the next real finding on that line."
    ),
}

# What `ecrm lint --fix` changes for the rule, for the rules whose findings can carry a fix.
FIXES: dict[str, str] = {
    "E006": n_(
        "a percentage written as a fraction in YAML becomes the whole percent it is (`holdout: 0.1` → "
        "`holdout: 10%`); a fraction that is not a whole percent, or any other malformed literal, is left for you."
    ),
    "E100": n_(
        "a misspelt key or an enum value with one close spelling is replaced by it (`trigerr:` → `trigger:`, "
        "`kind: sel` → `kind: sell`, in both syntaxes for `kind`)."
    ),
    "E201": n_(
        "a segment name (a trigger's, an audience's or in `in_segment(…)`) with one close spelling is replaced by it."
    ),
    "E202": n_("a template name with one close spelling is replaced by it (`repeat_cupon` → `repeat_coupon`)."),
    "E204": n_(
        "a name with one close spelling is replaced by it (`customer.ordr_count` → `customer.order_count`, "
        "`event.amout` → `event.amount`)."
    ),
    "E205": n_(
        "an event name (a trigger's, a goal's, a wait's or in `count(…)`) with one close spelling is replaced by it."
    ),
    "E207": n_("a timing anchor with one close spelling is replaced by it (`delivery_dat` → `delivery_date`)."),
    "E208": n_("a hypothesis KPI with one close spelling is replaced by it (`f2_rat` → `f2_rate`)."),
    "E206": n_("a function name with one close spelling is replaced by it (`has_tags(…)` → `has_tag(…)`)."),
    "E210": n_("a send's parameter with one close spelling among the template's params is renamed to it."),
    "E301": n_("a whole number compared with or added to money gets its 円 (`30000` → `30000円`)."),
    "E302": n_("a keyword argument with one close spelling is replaced by it (`categry:` → `category:`)."),
    "W406": n_("a text value that is not one of the attribute's values but close to one is replaced by it."),
    "W407": n_("a text value that is not one of the attribute's values but close to one is replaced by it."),
    "E602": n_("a preset argument with one close parameter name is renamed to it."),
    "W801": n_("the stale copy is replaced, whole, by what `ecrm schema export` writes for the installed version."),
    "W901": n_(
        "a misspelt directive (`ignroe`) is replaced by `ignore`, and an unused suppression that is the whole "
        "comment is removed (with its line when it stands alone); one that names several rules, or gives a reason "
        "after it, is left for you."
    ),
}

# Rules a project alone cannot show (no golden case): where their examples are tested instead.
ELSEWHERE: dict[str, str] = {
    "W801": n_(
        "A copy is stale when it was written by another version of ecrm-dsl, or edited: the golden case "
        "`W801_stale-schema-copy` holds one of each. A project whose copies `ecrm schema export .ecrm/schemas` has "
        "just written gets no finding (`tests/test_init_editor.py`); a project without copies is never checked."
    ),
    "W530": n_(
        "It needs a store: only `ecrm lint --store STORE` replays the store's last weeks to find it. Its "
        "examples (a pool that runs out, one that lasts) are in `tests/test_lint_store.py`."
    ),
}

# The golden case (and file in it) whose finding a rule's page shows, where the first case is not the best one.
EXAMPLES: dict[str, tuple[str, str]] = {
    "E001": ("E001_shift-jis", "sjis_text.ecrm"),
    "E003": ("E003_malformed-yaml", "tab_indent.yaml"),
    "E005": ("E005_unclosed-brace", "unclosed_scenario.ecrm"),
    "E006": ("E006_invalid-literal", "bad_literals.yaml"),
    "E007": ("E007_unknown-key", "ecrm.toml"),
    "E008": ("E008_nesting-too-deep", "deep_yaml.yaml"),
    "E100": ("E100_schema", "misspelled_key.yaml"),
    "E201": ("E201_unknown-segment", "unknown_audience.yaml"),
    "E204": ("E204_yaml-condition-position", "typo_in_where.yaml"),
    "E301": ("E301_type-mismatch", "types.ecrm"),
    "E302": ("E302_keyword-arguments", "keywords.ecrm"),
    "W406": ("W406_never-true", "never.yaml"),
    "W901": ("W901_unused-suppression", "suppressions.ecrm"),
}
