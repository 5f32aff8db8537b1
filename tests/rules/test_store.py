"""Rules per tenant in a real metadata store (SQLite, and PostgreSQL once): versions counted and
kept, 409 on a stale version, export and import round trips in YAML and JSON, an import that is
all or nothing with its problems listed by position, and bounded documents (413)."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from helan.core.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from helan.rules import store
from helan.rules.contracts import NoticeKind
from helan.rules.store import (
    RuleSource,
    delete_rule,
    export_rules,
    get_rule,
    import_rules,
    list_rules,
    parse_document,
    rule_versions,
    save_rule,
    validate_rule,
)
from helan.security.principal import Principal, Role
from helan.storage.meta import MetaStore
from helan.storage.meta.models import AuditEntry
from helan.storage.meta.models_rules import Rule, RuleVersion
from tests.rules.test_checks import open_meta

ADMIN = Principal(kind="user", subject="acme-admin", tenant="acme", role=Role.TENANT_ADMIN)
HOT = {"kind": "threshold", "metric": "temp", "op": ">", "value": 80}


class Paging:
    def __init__(self, limit: int = 50, offset: int = 0, sort: str | None = None) -> None:
        self.limit, self.offset, self.sort = limit, offset, sort


def body(condition: Any = HOT, **extra: Any) -> dict[str, Any]:
    return {"name": "hot pump", "target": {"device_type": "pump"}, "condition": condition, **extra}


def document(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "format": "helan.rules/v1",
        "rules": [{"id": f"r{i}", **copy.deepcopy(body(**extra))} for i in range(n)],
    }


@pytest.fixture
def meta(tmp_path: Path) -> Iterator[MetaStore]:
    m = open_meta(f"sqlite:///{tmp_path / 'meta.db'}")
    yield m
    m.close()


@pytest.fixture
def pg_meta(pg_url: str) -> Iterator[MetaStore]:
    m = open_meta(pg_url)
    yield m
    m.close()


def _versions_and_conflicts(meta: MetaStore) -> None:
    first = save_rule(meta, "acme", "hot", body(), ADMIN)
    assert (first.version, first.name, first.enabled, first.updated_by) == (
        1,
        "hot pump",
        True,
        "acme-admin",
    )
    second = save_rule(meta, "acme", "hot", body(enabled=False), ADMIN, expected_version=1)
    assert second.version == 2
    with pytest.raises(Conflict) as stale:
        save_rule(meta, "acme", "hot", body(for_s=5), ADMIN, expected_version=1)
    assert (stale.value.status, stale.value.code) == (409, "stale_version")
    assert "saved as version 2 since version 1 was read" in stale.value.message
    third = save_rule(meta, "acme", "hot", body(for_s=5), ADMIN)  # no version: last wins
    assert third.version == 3
    versions = rule_versions(meta, "acme", "hot")
    assert [v.version for v in versions] == [3, 2, 1]
    assert [v.spec.get("enabled", True) for v in versions] == [True, False, True]
    assert {v.saved_by for v in versions} == {"acme-admin"}
    assert get_rule(meta, "acme", "hot").spec == versions[0].spec
    with pytest.raises(Conflict, match="exists"):
        save_rule(meta, "acme", "hot", body(), ADMIN, create_only=True)
    with pytest.raises(NotFound):
        save_rule(meta, "acme", "new", body(), ADMIN, expected_version=1)
    delete_rule(meta, "acme", "hot", ADMIN)
    with pytest.raises(NotFound):
        get_rule(meta, "acme", "hot")
    with pytest.raises(NotFound):
        rule_versions(meta, "acme", "hot")
    with meta.session() as s:
        assert s.query(RuleVersion).count() == 0  # the versions went with the rule
    assert save_rule(meta, "acme", "hot", body(), ADMIN).version == 1  # the id is free again
    with meta.session() as s:
        audit = [(a.action, a.result) for a in s.query(AuditEntry).order_by(AuditEntry.id)]
    assert audit == [
        ("rule.save", "ok"),
        ("rule.save", "ok"),
        ("rule.save", "stale_version"),
        ("rule.save", "ok"),
        ("rule.save", "conflict"),
        ("rule.save", "not_found"),
        ("rule.delete", "ok"),
        ("rule.save", "ok"),
    ]


def test_versions_stale_version_and_delete(meta: MetaStore) -> None:
    _versions_and_conflicts(meta)


@pytest.mark.postgres
def test_versions_stale_version_and_delete_on_postgres(pg_meta: MetaStore) -> None:
    _versions_and_conflicts(pg_meta)


def test_saved_spec_keeps_every_kind_and_runs(meta: MetaStore) -> None:
    """The stored spec leaves defaults out but not a condition's kind: the engine reads it."""
    cond = {"all": [HOT, {"not": {"kind": "online", "state": "online"}}]}
    save_rule(meta, "acme", "hot", body(cond, notify={"raised": ["ch-1"]}), ADMIN)
    spec = get_rule(meta, "acme", "hot").spec
    assert spec["condition"] == {
        "kind": "all",
        "all": [
            {"kind": "threshold", "metric": "temp", "op": ">", "value": 80.0},
            {"kind": "not", "not": {"kind": "online", "state": "online"}},
        ],
    }
    save_rule(meta, "acme", "off", body(HOT, enabled=False), ADMIN)
    source = RuleSource(meta)
    loaded = source.load()
    (rule,) = loaded.rules  # the disabled one is not run
    assert (rule.rule_id, rule.version, sorted(rule.devices)) == ("hot", 1, ["p1", "p2", "p3"])
    policy = source.policy("acme", "hot")
    assert policy is not None
    assert policy.notify[NoticeKind.RAISED] == ("ch-1",)
    assert source.policy("acme", "off") is not None
    assert source.revision() == loaded.revision
    save_rule(meta, "acme", "hot", body(), ADMIN)
    assert source.revision() != loaded.revision


def test_invalid_saves_store_nothing(meta: MetaStore) -> None:
    with pytest.raises(ValidationFailed) as bad_metric:
        save_rule(meta, "acme", "hot", body({**HOT, "metric": "nope"}), ADMIN)
    assert (bad_metric.value.details or [])[0]["loc"] == ["condition", "metric"]
    with pytest.raises(ValidationFailed) as bad_id:
        save_rule(meta, "acme", "Hot Rule", body(), ADMIN)
    assert (bad_id.value.details or [])[0]["loc"] == ["path", "rule_id"]
    with pytest.raises(ValidationFailed):
        save_rule(meta, "acme", "hot", body(HOT, target={"device": "b1"}), ADMIN)  # bolt's
    with meta.session() as s:
        assert s.query(Rule).count() == 0


def test_list_filters_and_pages(meta: MetaStore) -> None:
    for i in range(5):
        save_rule(meta, "acme", f"r{i}", body(enabled=i % 2 == 0), ADMIN)
    page = list_rules(meta, "acme", Paging(limit=2, offset=1))
    assert ([r.id for r in page.rows], page.total) == (["r1", "r2"], 5)
    on = list_rules(meta, "acme", Paging(), enabled=True)
    assert [r.id for r in on.rows] == ["r0", "r2", "r4"]
    assert list_rules(meta, "bolt", Paging()).total == 0
    assert [r.id for r in list_rules(meta, "acme", Paging(sort="-id")).rows][:2] == ["r4", "r3"]


def test_validate_saves_nothing(meta: MetaStore) -> None:
    spec = validate_rule(meta, "acme", body())
    assert spec.name == "hot pump"
    with pytest.raises(ValidationFailed):
        validate_rule(meta, "acme", body({**HOT, "metric": "nope"}))
    assert list_rules(meta, "acme", Paging()).total == 0


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_import_round_trip(meta: MetaStore, fmt: str) -> None:
    rules = {
        "hot": body(message="温度 {temp} 过高", severity="high"),
        "jam": body(
            {"kind": "event", "type": "jam", "where": {"axis": "x"}, "clear_type": "reset"}
        ),
        "night": body(
            {"kind": "schedule", "days": ["mon"], "start": "22:00", "end": "06:00"},
            target={"asset": "site1"},
        ),
        "both": body({"any": [HOT, {"not": {"kind": "no_data", "for_s": 60}}]}, for_s=30),
    }
    for rule_id, data in rules.items():
        save_rule(meta, "acme", rule_id, data, ADMIN)
    exported = export_rules(meta, "acme", fmt)
    text = exported if isinstance(exported, str) else json.dumps(exported, ensure_ascii=False)
    if fmt == "yaml":
        assert isinstance(exported, str)
        assert "温度 {temp} 过高" in exported  # readable, not escaped
        assert "&id" not in exported  # no aliases: they are refused on import
    before = {r.id: r.spec for r in list_rules(meta, "acme", Paging()).rows}
    for rule_id in rules:
        delete_rule(meta, "acme", rule_id, ADMIN)
    assert sorted(import_rules(meta, "acme", parse_document(text), ADMIN)) == sorted(rules)
    after = {r.id: r.spec for r in list_rules(meta, "acme", Paging()).rows}
    assert after == before
    assert export_rules(meta, "acme", fmt) == exported
    # importing again makes new versions of the same rules
    import_rules(meta, "acme", parse_document(text), ADMIN)
    assert [v.version for v in rule_versions(meta, "acme", "hot")] == [2, 1]


def test_import_with_one_bad_rule_stores_nothing(meta: MetaStore) -> None:
    save_rule(meta, "acme", "r0", body(), ADMIN)
    doc = document(4)
    doc["rules"][1]["condition"] = {"all": [HOT, {**HOT, "metric": "nope"}]}
    doc["rules"][2]["condition"] = {**HOT, "op": "=>"}
    doc["rules"][3]["id"] = "Not An Id"
    doc["rules"].append({"name": "no id"})
    doc["rules"].append({**doc["rules"][0]})  # r0 twice
    with pytest.raises(ValidationFailed) as caught:
        import_rules(meta, "acme", doc, ADMIN)
    assert caught.value.code == "import_invalid"
    assert caught.value.message == "5 problem(s) in the document; nothing was imported"
    assert [(d["loc"], d["type"]) for d in caught.value.details or []] == [
        (["rules", 1, "condition", "all", 1, "metric"], "unknown_metric"),
        (["rules", 2, "condition", "op"], "literal_error"),
        (["rules", 3, "id"], "rule_id"),
        (["rules", 4, "id"], "missing"),
        (["rules", 5, "id"], "duplicate"),
    ]
    assert [r.id for r in list_rules(meta, "acme", Paging()).rows] == ["r0"]
    assert get_rule(meta, "acme", "r0").version == 1


def test_import_replace_deletes_the_rest(meta: MetaStore) -> None:
    for rule_id in ("keep", "drop"):
        save_rule(meta, "acme", rule_id, body(), ADMIN)
    doc = {"format": "helan.rules/v1", "rules": [{"id": "keep", **body()}, {"id": "new", **body()}]}
    assert import_rules(meta, "acme", doc, ADMIN, replace=True) == ["keep", "new"]
    assert [r.id for r in list_rules(meta, "acme", Paging()).rows] == ["keep", "new"]
    assert get_rule(meta, "acme", "keep").version == 2
    assert list_rules(meta, "bolt", Paging()).total == 0


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"rules": []}, "format must be 'helan.rules/v1'"),
        ({"format": "helan.rules/v2", "rules": []}, "format must be"),
        ({"format": "helan.rules/v1", "rules": {"a": 1}}, "rules must be a list"),
        ({"format": "helan.rules/v1"}, "rules must be a list"),
    ],
)
def test_import_document_shape(meta: MetaStore, doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        import_rules(meta, "acme", doc, ADMIN)


def test_too_many_rules_in_one_import_is_413(meta: MetaStore) -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        import_rules(meta, "acme", document(1001), ADMIN)
    assert caught.value.status == 413
    assert caught.value.message == "1001 rules in one import: at most 1000; split the document"
    assert list_rules(meta, "acme", Paging()).total == 0


def test_a_tenant_holds_a_bounded_number_of_rules(
    meta: MetaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "MAX_RULES_PER_TENANT", 3)
    for i in range(3):
        save_rule(meta, "acme", f"r{i}", body(), ADMIN)
    with pytest.raises(Conflict, match="at most 3 rules"):
        save_rule(meta, "acme", "r3", body(), ADMIN)
    with pytest.raises(Conflict, match="at most 3 rules"):
        import_rules(meta, "acme", document(4), ADMIN)
    assert import_rules(meta, "acme", document(2), ADMIN, replace=True) == ["r0", "r1"]


def test_a_thousand_rules_import_in_seconds(meta: MetaStore) -> None:
    text = "format: helan.rules/v1\nrules:\n" + "".join(BLOCK.format(i=i) for i in range(1000))
    started = time.perf_counter()
    assert len(import_rules(meta, "acme", parse_document(text), ADMIN)) == 1000
    assert time.perf_counter() - started < 30
    exported = export_rules(meta, "acme")
    assert isinstance(exported, str)
    assert len(parse_document(exported)["rules"]) == 1000


BLOCK = (
    "- id: r{i}\n  name: hot pump\n  target: {{device_type: pump}}\n"
    "  condition: {{kind: threshold, metric: temp, op: '>', value: 80}}\n"
)
FLOW = (
    "{{id: r{i}, name: n, target: {{device_type: pump}},"
    " condition: {{kind: online, state: offline}}}}"
)


@pytest.mark.parametrize("fmt", ["yaml", "yaml-flow", "json"])
def test_a_100000_rule_document_is_refused_at_once(fmt: str, meta: MetaStore) -> None:
    n = 100_000
    if fmt == "json":
        text = json.dumps(document(n))
    elif fmt == "yaml":
        text = "format: helan.rules/v1\nrules:\n" + "".join(BLOCK.format(i=i) for i in range(n))
    else:
        rules = ", ".join(FLOW.format(i=i) for i in range(n))
        text = f"{{format: helan.rules/v1, rules: [{rules}]}}"
    started = time.perf_counter()
    with pytest.raises(PayloadTooLarge) as caught:
        import_rules(meta, "acme", parse_document(text), ADMIN)
    assert caught.value.status == 413
    assert time.perf_counter() - started < 3  # a scan of the first 1000, not a parse of all
    assert list_rules(meta, "acme", Paging()).total == 0


def test_the_yaml_scan_counts_only_the_rules() -> None:
    """Long lists elsewhere are not rules; a thousand rules pass the scan."""
    many = "".join(BLOCK.format(i=i) for i in range(1000))
    doc = parse_document(
        f"format: helan.rules/v1\nnotes: [{', '.join(['x'] * 2000)}]\nrules:\n{many}"
    )
    assert len(doc["rules"]) == 1000
    assert len(doc["notes"]) == 2000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("format: x\nrules: [", "not YAML or JSON: while parsing a flow node"),
        ('{"format": ', "not JSON: unexpected end of data"),
        ("- a\n- b", "a rules document is a mapping with format and rules"),
        ("just words", "a rules document is a mapping"),
        ("", "a rules document is a mapping"),
        ("a: &x [1, 2]\nb: *x", "YAML aliases (*name) are not allowed"),
        ("rules: &r [{}]\nmore: [*r, *r, *r]", "YAML aliases"),
        ("!!python/object/apply:os.system {args: ['true']}", "not YAML or JSON: could not"),
    ],
)
def test_parse_document_refuses_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_document(text)
    assert caught.value.status == 422
    assert caught.value.message.startswith(message) or message in caught.value.message


def test_parse_document_reads_json_yaml_and_bytes() -> None:
    doc = document(2)
    assert parse_document(json.dumps(doc).encode()) == doc
    assert parse_document(yaml.safe_dump(doc)) == doc
    assert parse_document(yaml.safe_dump(doc, default_flow_style=True)) == doc  # YAML's {...}
