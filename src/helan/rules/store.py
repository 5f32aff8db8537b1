"""Rules per tenant: saved with a version counter, every version kept, exported and imported.

Saves name the version they started from (409 on an older one), as dashboards do. Import is all
or nothing and bounded (:data:`MAX_IMPORT` rules a document): each rule is checked as a save
would check it and the errors are listed by position in the document.

:class:`RuleSource` is what the engine reads: the enabled rules with the devices their targets
cover now, and each rule's alarm policy.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
import yaml

from helan.core.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from helan.rules.checks import check_rule, parse_spec, target_devices
from helan.rules.contracts import AlarmPolicy
from helan.rules.evaluator import ActiveRule
from helan.rules.model import RuleSpec
from helan.security.audit import audited
from helan.security.principal import Principal
from helan.services.paging import Listing, PageRequest, listing
from helan.storage.meta import MetaStore
from helan.storage.meta.models_rules import Rule, RuleVersion

log = logging.getLogger(__name__)

EXPORT_FORMAT = "helan.rules/v1"
MAX_IMPORT = 1000
MAX_RULES_PER_TENANT = 20_000
SORT = {"id": Rule.id, "name": Rule.name, "updated_at": Rule.updated_at}


def _spec_json(spec: RuleSpec) -> dict[str, Any]:
    """Defaults written out (only unset optionals left out): a stored rule keeps the meaning
    it was saved with if a default changes later, and every condition keeps its ``kind``."""
    return spec.model_dump(mode="json", by_alias=True, exclude_none=True)


def list_rules(
    meta: MetaStore, tenant: str, paging: PageRequest, *, enabled: bool | None = None
) -> Listing[Rule]:
    stmt = sa.select(Rule).where(Rule.tenant_id == tenant)
    if enabled is not None:
        stmt = stmt.where(Rule.enabled == enabled)
    return listing(meta, stmt, paging, sort=SORT, default="id", tiebreak=[Rule.id])


def get_rule(meta: MetaStore, tenant: str, rule_id: str) -> Rule:
    with meta.session() as s:
        row = s.get(Rule, (tenant, rule_id))
        if row is None:
            raise NotFound(f"no rule {rule_id!r}")
        return row


def rule_versions(meta: MetaStore, tenant: str, rule_id: str) -> list[RuleVersion]:
    get_rule(meta, tenant, rule_id)
    with meta.session() as s:
        stmt = (
            sa.select(RuleVersion)
            .where(RuleVersion.tenant_id == tenant, RuleVersion.rule_id == rule_id)
            .order_by(RuleVersion.version.desc())
        )
        return list(s.scalars(stmt))


def validate_rule(meta: MetaStore, tenant: str, data: dict[str, Any]) -> RuleSpec:
    """Parse and check against the thing model, without saving (the editor and backtest)."""
    spec = parse_spec(data)
    with meta.session() as s:
        check_rule(s, tenant, spec)
    return spec


def save_rule(
    meta: MetaStore,
    tenant: str,
    rule_id: str,
    data: dict[str, Any],
    principal: Principal,
    *,
    expected_version: int | None = None,
    create_only: bool = False,
) -> Rule:
    """Create (``expected_version`` None) or replace the rule; a new version either way."""
    _check_id(rule_id)
    spec = parse_spec(data)
    with audited(
        meta, principal, tenant=tenant, action="rule.save", object_type="rule", object_id=rule_id
    ) as s:
        check_rule(s, tenant, spec)
        row = s.get(Rule, (tenant, rule_id), with_for_update=True)
        if row is None:
            if expected_version is not None:
                raise NotFound(f"no rule {rule_id!r}")
            count = s.scalar(sa.select(sa.func.count()).where(Rule.tenant_id == tenant)) or 0
            if count >= MAX_RULES_PER_TENANT:
                raise Conflict(f"a tenant holds at most {MAX_RULES_PER_TENANT} rules")
            row = Rule(tenant_id=tenant, id=rule_id, version=1)
            s.add(row)
        else:
            if create_only:
                raise Conflict(f"rule {rule_id!r} exists")
            if expected_version is not None and expected_version != row.version:
                raise Conflict(
                    f"rule {rule_id!r} was saved as version {row.version} since version "
                    f"{expected_version} was read: reload it",
                    code="stale_version",
                )
            row.version += 1
        row.name, row.enabled, row.spec = spec.name, spec.enabled, _spec_json(spec)
        row.updated_by = principal.subject
        s.add(
            RuleVersion(
                tenant_id=tenant,
                rule_id=rule_id,
                version=row.version,
                spec=row.spec,
                saved_by=principal.subject,
            )
        )
        s.flush()
        s.expunge(row)
    return row


_ID = re.compile(r"[a-z0-9][a-z0-9_.\-]{0,63}")
_ID_RULE = "a rule id is 1-64 of a-z 0-9 _ . - starting with a letter or digit"


def _check_id(rule_id: str) -> None:
    if not _ID.fullmatch(rule_id):
        raise ValidationFailed(
            f"rule id {rule_id!r}: {_ID_RULE.removeprefix('a rule id is ')}",
            details=[{"loc": ["path", "rule_id"], "message": _ID_RULE, "type": "rule_id"}],
        )


def delete_rule(meta: MetaStore, tenant: str, rule_id: str, principal: Principal) -> None:
    with audited(
        meta, principal, tenant=tenant, action="rule.delete", object_type="rule", object_id=rule_id
    ) as s:
        row = s.get(Rule, (tenant, rule_id))
        if row is None:
            raise NotFound(f"no rule {rule_id!r}")
        s.delete(row)


def export_rules(meta: MetaStore, tenant: str, fmt: str = "yaml") -> str | dict[str, Any]:
    with meta.session() as s:
        rows = s.scalars(sa.select(Rule).where(Rule.tenant_id == tenant).order_by(Rule.id))
        doc = {
            "format": EXPORT_FORMAT,
            "rules": [{"id": r.id, **r.spec} for r in rows],
        }
    if fmt == "json":
        return doc
    return str(yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False))


_NOT_A_DOCUMENT = "a rules document is a mapping with format and rules"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader where built (about 3x faster), PyYAML's otherwise."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # an export never shares a node: each rule reads on its own


def parse_document(text: str | bytes) -> dict[str, Any]:
    """A YAML or JSON export; anything else is a 422 with the parser's first line.

    JSON is read as JSON (PyYAML takes about a minute for 4 MiB of it), the rest as YAML
    (flow style too), scanned before anything is built: aliases are refused (``*a`` repeated
    is a small document that expands without bound) and so is a ``rules`` list longer than
    :data:`MAX_IMPORT` (413), so a 100,000-rule document is refused after its first 1000."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        as_json = exc if text.lstrip()[:1] in ("{", b"{") else None
        try:
            _scan(text)
            doc = yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader)
        except yaml.YAMLError as err:  # a JSON-looking document is told what JSON found
            problem = f"not JSON: {as_json}" if as_json else f"not YAML or JSON: {err}"
            raise ValidationFailed(problem.splitlines()[0]) from None
    if not isinstance(doc, dict):
        raise ValidationFailed(_NOT_A_DOCUMENT)
    return doc


def _scan(text: str | bytes) -> None:
    """Refuse aliases and too many rules from the event stream, before the document is built."""
    depth = 0
    children = 0  # of the root mapping: key, value, key, value...
    key: object = None  # the root's key whose value is being read
    rules = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            raise ValidationFailed("YAML aliases (*name) are not allowed in a rules document")
        if isinstance(event, yaml.CollectionStartEvent):
            if depth == 0 and not isinstance(event, yaml.MappingStartEvent):
                raise ValidationFailed(_NOT_A_DOCUMENT)
            children += depth == 1
            if depth == 2 and key == "rules":
                rules += 1
                if rules > MAX_IMPORT:
                    raise PayloadTooLarge(
                        f"more than {MAX_IMPORT} rules in one import; split the document"
                    )
            depth += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.ScalarEvent) and depth == 1:
            key = event.value if children % 2 == 0 else key
            children += 1


def import_rules(
    meta: MetaStore,
    tenant: str,
    doc: dict[str, Any],
    principal: Principal,
    *,
    replace: bool = False,
) -> list[str]:
    """Save every rule of ``doc`` (new versions of those that exist), or none of them."""
    if doc.get("format") != EXPORT_FORMAT:
        raise ValidationFailed(
            f"format must be {EXPORT_FORMAT!r}",
            details=[{"loc": ["format"], "message": "unknown format", "type": "format"}],
        )
    items = doc.get("rules")
    if not isinstance(items, list):
        raise ValidationFailed("rules must be a list")
    if len(items) > MAX_IMPORT:
        raise PayloadTooLarge(
            f"{len(items)} rules in one import: at most {MAX_IMPORT}; split the document"
        )
    specs: list[tuple[str, RuleSpec]] = []
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    with meta.session() as s:
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                problems.append(
                    {
                        "loc": ["rules", i, "id"],
                        "message": "each rule needs an id",
                        "type": "missing",
                    }
                )
                continue
            rule_id = item["id"]
            if rule_id in seen:
                problems.append(
                    {
                        "loc": ["rules", i, "id"],
                        "message": f"{rule_id!r} twice",
                        "type": "duplicate",
                    }
                )
                continue
            seen.add(rule_id)
            if not _ID.fullmatch(rule_id):
                problems.append({"loc": ["rules", i, "id"], "message": _ID_RULE, "type": "rule_id"})
                continue
            body = {k: v for k, v in item.items() if k != "id"}
            try:
                spec = parse_spec(body, ("rules", i))
                check_rule(s, tenant, spec, ("rules", i))
            except ValidationFailed as exc:
                problems.extend(
                    exc.details or [{"loc": ["rules", i], "message": exc.message, "type": exc.code}]
                )
                continue
            specs.append((rule_id, spec))
    if problems:
        raise ValidationFailed(
            f"{len(problems)} problem(s) in the document; nothing was imported",
            code="import_invalid",
            details=problems[:100],
        )
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="rule.import",
        object_type="rule",
        object_id=None,
        detail={"rules": len(specs), "replace": replace},
    ) as s:
        existing = {r.id: r for r in s.scalars(sa.select(Rule).where(Rule.tenant_id == tenant))}
        kept = len(seen) if replace else len(existing.keys() | seen)
        if kept > MAX_RULES_PER_TENANT:
            raise Conflict(f"a tenant holds at most {MAX_RULES_PER_TENANT} rules")
        for rule_id, spec in specs:
            row = existing.get(rule_id)
            if row is None:
                row = Rule(tenant_id=tenant, id=rule_id, version=1)
                s.add(row)
            else:
                row.version += 1
            row.name, row.enabled, row.spec = spec.name, spec.enabled, _spec_json(spec)
            row.updated_by = principal.subject
            s.add(
                RuleVersion(
                    tenant_id=tenant,
                    rule_id=rule_id,
                    version=row.version,
                    spec=row.spec,
                    saved_by=principal.subject,
                )
            )
        if replace:
            for rule_id, row in existing.items():
                if rule_id not in seen:
                    s.delete(row)
    return [r for r, _ in specs]


@dataclass(frozen=True, slots=True)
class Loaded:
    rules: list[ActiveRule]
    revision: tuple[Any, ...]


class RuleSource:
    """The rules as the engine runs them, and their alarm policies (contracts.PolicySource)."""

    def __init__(self, meta: MetaStore) -> None:
        self.meta = meta
        self._policies: dict[tuple[str, str], AlarmPolicy] = {}

    def revision(self) -> tuple[Any, ...]:
        """Changes whenever a rule, a device or an asset changes (cheap: three aggregates)."""
        from helan.storage.meta.models import Asset, Device

        with self.meta.session() as s:
            return (
                tuple(
                    s.execute(
                        sa.select(
                            sa.func.count(), sa.func.max(Rule.updated_at), sa.func.sum(Rule.version)
                        )
                    ).one()
                )
                + tuple(s.execute(sa.select(sa.func.count(), sa.func.max(Device.updated_at))).one())
                + tuple(s.execute(sa.select(sa.func.count(), sa.func.max(Asset.updated_at))).one())
            )

    def load(self, tenants: Sequence[str] | None = None) -> Loaded:
        revision = self.revision()
        rules: list[ActiveRule] = []
        policies: dict[tuple[str, str], AlarmPolicy] = {}
        with self.meta.session() as s:
            stmt = sa.select(Rule)
            if tenants is not None:
                stmt = stmt.where(Rule.tenant_id.in_(tenants))
            for row in s.scalars(stmt):
                try:
                    spec = RuleSpec.model_validate(row.spec)
                except ValueError:  # saved by a version whose language differs: skip, loudly
                    log.error("rule %s/%s no longer parses", row.tenant_id, row.id)
                    continue
                policies[(row.tenant_id, row.id)] = AlarmPolicy(
                    notify=spec.notify.by_kind(), escalate_after_s=spec.escalate_after_s
                )
                if not spec.enabled:
                    continue
                devices = frozenset(d for d, _ in target_devices(s, row.tenant_id, spec))
                rules.append(ActiveRule(row.tenant_id, row.id, row.version, spec, devices))
        self._policies = policies
        return Loaded(rules, revision)

    def policy(self, tenant: str, rule_id: str) -> AlarmPolicy | None:
        return self._policies.get((tenant, rule_id))
