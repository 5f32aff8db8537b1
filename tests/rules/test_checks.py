"""A rule checked against the tenant's thing models before it is saved: every problem at its
position, unknown metrics and events, wrong types, targets of another tenant reported exactly
like targets that do not exist, and asset subtrees. A real SQLite metadata store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from helan.core.errors import ValidationFailed
from helan.rules.checks import check_rule, parse_spec, target_devices
from helan.services.assets import subtree as asset_subtree
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Asset, Device, DeviceType, Tenant

PUMP = {
    "properties": [
        {"name": "temp", "type": "float"},
        {"name": "pressure"},  # float by default
        {"name": "state", "type": "string"},
        {"name": "running", "type": "bool"},
        {"name": "count", "type": "int"},
    ],
    "events": [{"name": "jam", "outputs": [{"name": "axis", "type": "string"}]}, {"name": "reset"}],
}


def seed(meta: MetaStore) -> None:
    """acme: pumps and a meter under site1 > line1 > cell1, an untyped device under site2;
    bolt: its own pump type (with a metric acme's lacks) and device b1, asset bsite."""
    with meta.session() as s:
        s.add_all([Tenant(id="acme", name="Acme"), Tenant(id="bolt", name="Bolt")])
        s.flush()
        s.add_all(
            [
                DeviceType(tenant_id="acme", id="pump", name="Pump", **PUMP),
                DeviceType(
                    tenant_id="acme", id="meter", name="Meter", properties=[{"name": "power"}]
                ),
                DeviceType(
                    tenant_id="bolt", id="pump", name="Pump", properties=[{"name": "secret"}]
                ),
                Asset(tenant_id="acme", id="site1", name="Site 1", kind="site"),
                Asset(tenant_id="acme", id="line1", name="L1", kind="line", parent_id="site1"),
                Asset(tenant_id="acme", id="cell1", name="C1", kind="cell", parent_id="line1"),
                Asset(tenant_id="acme", id="site2", name="Site 2", kind="site"),
                Asset(tenant_id="bolt", id="bsite", name="B", kind="site"),
                Asset(tenant_id="bolt", id="bline", name="B", kind="line", parent_id="bsite"),
            ]
        )
        s.flush()
        for tenant, device, dtype, asset in (
            ("acme", "p1", "pump", "cell1"),
            ("acme", "p2", "pump", "line1"),
            ("acme", "m1", "meter", "site1"),
            ("acme", "bare", None, "site2"),
            ("acme", "p3", "pump", None),
            ("bolt", "b1", "pump", "bline"),
        ):
            s.add(
                Device(
                    tenant_id=tenant,
                    id=device,
                    name=device,
                    device_type_id=dtype,
                    asset_id=asset,
                    credential_hash="x",
                )
            )


def open_meta(url: str) -> MetaStore:
    meta = MetaStore(url)
    meta.migrate()
    seed(meta)
    return meta


@pytest.fixture(scope="module")
def meta(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetaStore]:
    """Shared by the module: the checks only read (the cycle test adds assets of its own)."""
    store = open_meta(f"sqlite:///{tmp_path_factory.mktemp('checks') / 'meta.db'}")
    yield store
    store.close()


HOT = {"kind": "threshold", "metric": "temp", "op": ">", "value": 80}


def spec(condition: Any, target: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": "r",
        "target": target or {"device_type": "pump"},
        "condition": condition,
        **extra,
    }


def problems(meta: MetaStore, data: dict[str, Any], tenant: str = "acme") -> ValidationFailed:
    with meta.session() as s, pytest.raises(ValidationFailed) as caught:
        check_rule(s, tenant, parse_spec(data))
    assert caught.value.status == 422
    assert caught.value.code == "rule_invalid"
    return caught.value


def ok(meta: MetaStore, data: dict[str, Any], tenant: str = "acme") -> None:
    with meta.session() as s:
        check_rule(s, tenant, parse_spec(data))


def test_valid_rules_on_every_kind_of_target(meta: MetaStore) -> None:
    ok(meta, spec(HOT, {"device": "p1"}))
    ok(meta, spec({"kind": "expr", "expr": "temp > 1.0 && state == 'run' && running"}))
    ok(meta, spec({"kind": "threshold", "metric": "state", "op": "==", "value": "jam"}))
    ok(meta, spec({"kind": "threshold", "metric": "running", "op": "==", "value": False}))
    ok(meta, spec({"kind": "threshold", "metric": "count", "op": ">=", "value": 3}))
    ok(
        meta,
        spec(
            {
                "kind": "aggregate",
                "metric": "state",
                "fn": "count",
                "window_s": 60,
                "op": ">",
                "value": 3,
            }
        ),
    )
    ok(meta, spec({"kind": "event", "type": "jam", "where": {"axis": "x"}, "clear_type": "reset"}))
    ok(meta, spec({"kind": "no_data", "for_s": 60}))
    ok(
        meta,
        spec(
            {"all": [HOT, {"kind": "threshold", "metric": "power", "op": ">", "value": 1}]},
            {"asset": "site1"},
        ),
    )


def test_problems_at_their_position(meta: MetaStore) -> None:
    data = spec(
        {
            "all": [
                HOT,
                {"kind": "threshold", "metric": "tmep", "op": ">", "value": 1},
                {"any": [{"kind": "range", "metric": "state", "min": 0, "max": 1}]},
                {"not": {"kind": "threshold", "metric": "state", "op": ">", "value": 3}},
            ]
        },
        suppress={"kind": "event", "type": "maintenance", "clear_type": "jam"},
    )
    failed = problems(meta, data)
    assert failed.details == [
        {
            "loc": ["condition", "all", 1, "metric"],
            "message": "unknown metric 'tmep' in the thing model",
            "type": "unknown_metric",
        },
        {
            "loc": ["condition", "all", 2, "any", 0, "metric"],
            "message": "state is string, not a number",
            "type": "wrong_type",
        },
        {
            "loc": ["condition", "all", 3, "not", "value"],
            "message": "state is string; 3.0 does not compare with it",
            "type": "wrong_type",
        },
        {
            "loc": ["suppress", "type"],
            "message": "unknown event 'maintenance' in the thing model",
            "type": "unknown_event",
        },
    ]
    assert failed.message == (
        "unknown metric 'tmep' in the thing model at condition.all.1.metric (and 3 more)"
    )


@pytest.mark.parametrize(
    ("condition", "loc", "kind", "message"),
    [
        (
            {"kind": "threshold", "metric": "running", "op": "==", "value": "yes"},
            ["condition", "value"],
            "wrong_type",
            "running is bool",
        ),
        (
            {"kind": "threshold", "metric": "temp", "op": "==", "value": True},
            ["condition", "value"],
            "wrong_type",
            "temp is float",
        ),
        (
            {
                "kind": "aggregate",
                "metric": "running",
                "fn": "avg",
                "window_s": 9,
                "op": ">",
                "value": 1,
            },
            ["condition", "metric"],
            "wrong_type",
            "running is bool, not a number",
        ),
        (
            {"kind": "rate", "metric": "state", "window_s": 9, "op": ">", "value": 1},
            ["condition", "metric"],
            "wrong_type",
            "not a number",
        ),
        (
            {"kind": "no_data", "metric": "nothing", "for_s": 60},
            ["condition", "metric"],
            "unknown_metric",
            "unknown metric 'nothing'",
        ),
        (
            {"kind": "expr", "expr": "temp > 1.0 && tmep < 2.0"},
            ["condition", "expr"],
            "unknown_metric",
            "unknown metric(s) tmep in the expression",
        ),
        (
            {"kind": "expr", "expr": "state > 1"},
            ["condition", "expr"],
            "expr_type",
            "not a boolean for the metrics' types",
        ),
        (
            {"kind": "expr", "expr": "temp + 1.0"},
            ["condition", "expr"],
            "expr_type",
            "not a boolean",
        ),
        (
            {"kind": "expr", "expr": "pump.temp > 1"},
            ["condition", "expr"],
            "expr_invalid",
            "field selection and indexing are not allowed: name the metric itself (column 1)",
        ),
        (
            {"kind": "expr", "expr": "temp > 9**9**9"},
            ["condition", "expr"],
            "expr_invalid",
            "unexpected '*' (there is no ** operator) (column 10)",
        ),
        (
            {"kind": "event", "type": "jam", "clear_type": "unjam"},
            ["condition", "clear_type"],
            "unknown_event",
            "unknown event 'unjam'",
        ),
    ],
    ids=lambda v: str(v)[:40],
)
def test_each_check(
    meta: MetaStore, condition: dict[str, Any], loc: list[Any], kind: str, message: str
) -> None:
    (problem,) = problems(meta, spec(condition)).details or []
    assert (problem["loc"], problem["type"]) == (loc, kind)
    assert message in problem["message"]


@pytest.mark.parametrize(
    ("tenant", "target", "field", "theirs"),
    [
        ("acme", "device", "device", "b1"),
        ("acme", "asset", "asset", "bsite"),
        ("bolt", "device_type", "device type", "meter"),  # acme's
    ],
)
def test_another_tenants_target_is_reported_as_unknown(
    meta: MetaStore, tenant: str, target: str, field: str, theirs: str
) -> None:
    """Another tenant's device, device type or asset reads exactly like one that does not
    exist: same position, type and message but for the name."""
    (foreign,) = problems(meta, spec(HOT, {target: theirs}), tenant=tenant).details or []
    (absent,) = problems(meta, spec(HOT, {target: "zz"}), tenant=tenant).details or []
    assert foreign == {**absent, "message": absent["message"].replace("'zz'", repr(theirs))}
    assert foreign == {
        "loc": ["target", target],
        "message": f"no {field} {theirs!r} in this tenant",
        "type": f"unknown_{target}",
    }


def test_same_named_type_of_another_tenant_lends_no_metrics(meta: MetaStore) -> None:
    secret = {"kind": "threshold", "metric": "secret", "op": ">", "value": 1}
    (problem,) = problems(meta, spec(secret)).details or []
    assert problem["type"] == "unknown_metric"
    ok(meta, spec(secret), tenant="bolt")


def test_targets_without_a_thing_model(meta: MetaStore) -> None:
    (untyped,) = problems(meta, spec(HOT, {"device": "bare"})).details or []
    assert (untyped["loc"], untyped["type"]) == (["target", "device"], "no_thing_model")
    (empty,) = problems(meta, spec(HOT, {"asset": "site2"})).details or []
    assert (empty["loc"], empty["type"]) == (["target", "asset"], "empty_target")


def test_asset_subtree_and_target_devices(meta: MetaStore) -> None:
    with meta.session() as s:
        assert sorted(asset_subtree(s, "acme", "site1")) == ["cell1", "line1", "site1"]
        assert asset_subtree(s, "acme", "line1") == ["line1", "cell1"]
        assert asset_subtree(s, "bolt", "bsite") == ["bsite", "bline"]
        assert asset_subtree(s, "bolt", "site1") == ["site1"]  # acme's tree is not walked
        by_asset = target_devices(s, "acme", parse_spec(spec(HOT, {"asset": "site1"})))
        assert sorted(by_asset) == [("m1", "meter"), ("p1", "pump"), ("p2", "pump")]
        by_type = target_devices(s, "acme", parse_spec(spec(HOT)))
        assert sorted(d for d, _ in by_type) == ["p1", "p2", "p3"]
        one = target_devices(s, "acme", parse_spec(spec(HOT, {"device": "p3"})))
        assert one == [("p3", "pump")]
        assert target_devices(s, "acme", parse_spec(spec(HOT, {"device": "b1"}))) == []


def test_asset_metrics_are_those_of_any_type_under_it(meta: MetaStore) -> None:
    power = {"kind": "threshold", "metric": "power", "op": ">", "value": 1}
    ok(meta, spec(power, {"asset": "site1"}))  # m1 is a meter
    (problem,) = problems(meta, spec(power, {"asset": "line1"})).details or []
    assert problem["type"] == "unknown_metric"  # only pumps below line1


def test_a_cycle_in_the_asset_tree_ends(meta: MetaStore) -> None:
    with meta.session() as s:
        s.add(Asset(tenant_id="acme", id="loop-a", name="a", kind="line"))
        s.flush()
        s.add(Asset(tenant_id="acme", id="loop-b", name="b", kind="line", parent_id="loop-a"))
        s.flush()
        a = s.get(Asset, ("acme", "loop-a"))
        assert a is not None
        a.parent_id = "loop-b"
    with meta.session() as s:
        found = asset_subtree(s, "acme", "loop-a")
    assert set(found) == {"loop-a", "loop-b"}


def test_positions_under_a_prefix(meta: MetaStore) -> None:
    with meta.session() as s, pytest.raises(ValidationFailed) as caught:
        check_rule(
            s,
            "acme",
            parse_spec(spec({"any": [HOT, {**HOT, "metric": "x"}]})),
            ("rules", 4),
        )
    assert (caught.value.details or [])[0]["loc"] == ["rules", 4, "condition", "any", 1, "metric"]
