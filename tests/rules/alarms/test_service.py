"""The alarm service on a real (SQLite) database: condition changes, idempotent replay,
repeats, historical data, suppression, shelving, escalation, out of service, operator
actions with their audit, and tenant isolation."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from helan.core.errors import Conflict, NotFound, ValidationFailed
from helan.rules.alarms import AlarmService
from helan.rules.contracts import NoticeKind, Severity
from helan.storage.meta.models import AuditEntry
from helan.storage.meta.models_alarms import Alarm, AlarmHistory, AlarmPair

from .conftest import Env, change, user

OP = user()


def alarms(env: Env, **where: object) -> list[Alarm]:
    with env.meta.session() as s:
        stmt = sa.select(Alarm).filter_by(**where).order_by(Alarm.raised_ts)
        return list(s.scalars(stmt))


def only(env: Env) -> Alarm:
    (row,) = alarms(env)
    return row


def history(env: Env, alarm_id: str) -> list[tuple[str, str, str]]:
    with env.meta.session() as s:
        rows = s.scalars(
            sa.select(AlarmHistory)
            .where(AlarmHistory.alarm_id == alarm_id)
            .order_by(AlarmHistory.id)
        )
        return [(h.action, h.from_state, h.to_state) for h in rows]


def test_raise_repeat_return_reactivate_and_acknowledge(env: Env) -> None:
    env.service.apply([change(1000)])
    row = only(env)
    assert (row.state, row.count, row.open, row.priority) == ("unack_active", 1, True, 2)
    assert row.values == {"temp": 91.5}
    assert row.message == "hot on pump-1"
    env.service.apply([change(2000)])  # a repeat while active: counted, not duplicated
    env.service.apply([change(3000, False)])
    env.service.apply([change(4000)])  # active again before anyone acknowledged
    row = only(env)
    assert (row.state, row.count, row.last_change_ts) == ("unack_active", 3, 4000)
    out = env.service.acknowledge("acme", row.id, OP, comment="seen")
    assert out["state"] == "ack_active"
    assert out["acknowledged_by"] == "acme-op"
    assert out["acknowledged_ts"] == env.now[0]
    env.service.apply([change(5000, False)])
    row = only(env)
    assert (row.state, row.open, row.cleared_ts) == ("normal", False, 5000)
    assert history(env, row.id) == [
        ("activate", "normal", "unack_active"),
        ("activate", "unack_active", "unack_active"),
        ("return", "unack_active", "rtn_unack"),
        ("activate", "rtn_unack", "unack_active"),
        ("acknowledge", "unack_active", "ack_active"),
        ("return", "ack_active", "normal"),
    ]
    assert env.sink.kinds() == ["raised", "cleared", "raised", "acknowledged", "cleared"]
    keys = [n.key for n in env.sink.notices]
    assert len(set(keys)) == len(keys)
    assert keys[0] == f"{row.id}:raised:1"
    assert all(n.channels == ("ch-1",) for n in env.sink.notices)
    # The next activation opens a new alarm; the closed one stays as history.
    env.service.apply([change(6000)])
    first, second = alarms(env)
    assert not first.open
    assert second.open
    assert second.id != first.id
    assert second.count == 1


def test_rtn_unack_acknowledged_closes(env: Env) -> None:
    env.service.apply([change(1000), change(2000, False)])
    row = only(env)
    assert row.state == "rtn_unack"
    out = env.service.acknowledge("acme", row.id, OP)
    assert (out["state"], out["open"], out["cleared_ts"]) == ("normal", False, env.now[0])


def test_replay_is_idempotent(env: Env) -> None:
    batch = [change(1000), change(2000, False), change(3000), change(3000, False)]
    env.service.apply(batch)
    before = [(a.id, a.state, a.count, a.last_change_ts) for a in alarms(env)]
    with env.meta.session() as s:
        n_history = s.scalar(sa.select(sa.func.count()).select_from(AlarmHistory))
    notices = list(env.sink.notices)
    # A restart replays the same changes (and older ones): nothing moves, nothing is sent.
    fresh = AlarmService(env.meta, env.sink, env.policies)
    fresh.apply(batch)
    fresh.apply(batch[:2])
    assert [(a.id, a.state, a.count, a.last_change_ts) for a in alarms(env)] == before
    with env.meta.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AlarmHistory)) == n_history
    assert env.sink.notices == notices
    assert before[0][1:3] == ("unack_active", 2)  # the second (3000, active) was applied


def test_historical_changes_raise_without_notices(env: Env) -> None:
    env.service.apply([change(1000, historical=True), change(2000, False, historical=True)])
    assert only(env).state == "rtn_unack"
    assert env.sink.notices == []
    env.service.tick(10**12)  # a quiet alarm does not escalate either
    assert env.sink.notices == []
    assert not only(env).escalated
    # ... unless the rule asks to be told about backfilled data.
    env.service.apply([change(3000, historical=True, notify_historical=True)])
    assert env.sink.kinds() == ["raised"]


def test_suppressed_by_design(env: Env) -> None:
    env.service.apply([change(1000, suppressed=True), change(2000, suppressed=True)])
    row = only(env)
    assert (row.state, row.count) == ("suppressed", 2)
    assert env.sink.notices == []
    env.service.apply([change(3000)])  # the suppression ended with the condition active
    assert only(env).state == "unack_active"
    assert env.sink.kinds() == ["raised"]
    env.service.apply([change(4000, suppressed=True), change(5000, False)])
    row = only(env)
    assert (row.state, row.open) == ("normal", False)
    assert env.sink.kinds() == ["raised"]  # suppressed: neither its return nor anything else


def test_shelve_expires_through_tick(env: Env) -> None:
    env.service.apply([change(1000)])
    row = only(env)
    out = env.service.shelve("acme", row.id, OP, reason="sensor repair", duration_s=60)
    assert out["state"] == "shelved"
    assert out["shelved_until"] == env.now[0] + 60_000
    env.service.apply([change(2000, False), change(3000)])  # silent while shelved
    assert env.sink.kinds() == ["raised"]
    assert only(env).count == 2
    assert env.service.tick(env.now[0] + 59_999) == 0
    assert env.service.tick(env.now[0] + 60_000) == 1
    row = only(env)
    assert (row.state, row.shelved_until) == ("unack_active", None)
    assert env.sink.kinds() == ["raised", "raised"]  # annunciated again
    assert history(env, row.id)[-1] == ("shelve_expired", "shelved", "unack_active")


def test_unshelve_with_condition_normal_closes(env: Env) -> None:
    env.service.apply([change(1000)])
    row = only(env)
    env.service.shelve("acme", row.id, OP, reason="known", until_ms=env.now[0] + 1000)
    env.service.apply([change(2000, False)])
    out = env.service.unshelve("acme", row.id, OP)
    assert (out["state"], out["open"]) == ("normal", False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"duration_s": 30 * 86400}, "at most 604800"),
        ({"duration_s": 0}, "more than 0"),
        ({"until_ms": 1}, "future"),
        ({"until_ms": 1_000_000 + 8 * 86400_000}, "at most 7 days"),
        ({}, "exactly one"),
        ({"duration_s": 60, "until_ms": 2_000_000}, "exactly one"),
        ({"duration_s": 60, "reason": "  "}, "reason is required"),
    ],
)
def test_bad_shelve_refused(env: Env, kwargs: dict[str, object], message: str) -> None:
    env.service.apply([change(1000)])
    args: dict[str, object] = {"reason": "why"} | kwargs
    with pytest.raises(ValidationFailed, match=message):
        env.service.shelve("acme", only(env).id, OP, **args)  # type: ignore[arg-type]
    assert only(env).state == "unack_active"


def test_escalation_through_tick(env: Env) -> None:
    env.service.apply([change(1_000_000)])
    assert env.service.tick(1_059_999) == 0
    assert env.service.tick(1_060_000) == 1
    assert env.service.tick(1_200_000) == 0  # once
    row = only(env)
    assert row.escalated
    assert row.state == "unack_active"
    assert env.sink.kinds() == ["raised", "escalated"]
    # No escalation policy ('cold'): never escalates.
    env.service.apply([change(1_000_000, rule="cold")])
    env.service.tick(10**12)
    assert not alarms(env, rule_id="cold")[0].escalated


def test_out_of_service_survives_and_returns(env: Env) -> None:
    env.service.apply([change(1000)])
    row = only(env)
    out = env.service.set_service(
        "acme", "hot", "pump-1", OP, in_service=False, reason="pump replaced"
    )
    assert out["in_service"] is False
    assert out["alarm"]["state"] == "out_of_service"
    # A new service (a restart) still finds the pair out of service: no notices, no new alarm.
    restarted = AlarmService(env.meta, env.sink, env.policies)
    restarted.apply([change(2000, False), change(3000), change(4000, False), change(5000)])
    assert only(env).state == "out_of_service"
    assert only(env).count == 3
    assert env.sink.kinds() == ["raised"]
    back = restarted.set_service("acme", "hot", "pump-1", OP, in_service=True, reason="fixed")
    assert back["alarm"]["state"] == "unack_active"
    assert back["alarm"]["id"] == row.id
    assert env.sink.kinds() == ["raised", "raised"]
    with env.meta.session() as s:
        pair = s.get(AlarmPair, ("acme", "hot", "pump-1"))
        assert pair is not None
        assert pair.in_service
        assert pair.service_reason == "fixed"


def test_out_of_service_without_open_alarm(env: Env) -> None:
    env.service.set_service("acme", "hot", "pump-1", OP, in_service=False, reason="maintenance")
    env.service.apply([change(1000)])
    assert only(env).state == "out_of_service"
    assert env.sink.notices == []
    env.service.apply([change(2000, False)])
    env.service.set_service("acme", "hot", "pump-1", OP, in_service=True, reason="done")
    assert (only(env).state, only(env).open) == ("normal", False)
    assert env.sink.notices == []


def test_out_of_service_refuses_foreign_device_and_unknown_rule(env: Env) -> None:
    with pytest.raises(NotFound, match="device"):
        env.service.set_service("acme", "hot", "pump-9", OP, in_service=False, reason="x")
    with pytest.raises(NotFound, match="rule"):
        env.service.set_service("acme", "nope", "pump-1", OP, in_service=False, reason="x")
    with pytest.raises(ValidationFailed, match="reason"):
        env.service.set_service("acme", "hot", "pump-1", OP, in_service=False, reason="")


def test_clear_needs_a_comment_and_is_audited(env: Env) -> None:
    env.service.apply([change(1000)])
    row = only(env)
    with pytest.raises(ValidationFailed, match="comment is required"):
        env.service.clear("acme", row.id, OP, "   ")
    out = env.service.clear("acme", row.id, OP, "false alarm: sensor unplugged")
    assert (out["state"], out["open"]) == ("normal", False)
    with pytest.raises(Conflict, match="already closed"):
        env.service.clear("acme", row.id, OP, "again")
    with env.meta.session() as s:
        audit = [
            (e.action, e.result, e.actor)
            for e in s.scalars(
                sa.select(AuditEntry).where(AuditEntry.object_id == row.id).order_by(AuditEntry.id)
            )
        ]
    assert audit == [
        ("alarm.clear", "ok", "acme-op"),
        ("alarm.clear", "illegal_transition", "acme-op"),
    ]
    assert history(env, row.id)[-1] == ("clear", "unack_active", "normal")


def test_comment_assign_and_illegal_ack(env: Env) -> None:
    env.service.apply([change(1000)])
    row = only(env)
    env.service.comment("acme", row.id, OP, "looking at it")
    out = env.service.assign("acme", row.id, OP, "acme-op")
    assert out["assigned_to"] == "acme-op"
    with pytest.raises(ValidationFailed, match="not a user of tenant"):
        env.service.assign("acme", row.id, OP, "bolt-op")
    with pytest.raises(ValidationFailed, match="text is required"):
        env.service.comment("acme", row.id, OP, "")
    env.service.acknowledge("acme", row.id, OP)
    with pytest.raises(Conflict, match="state 'ack_active'"):
        env.service.acknowledge("acme", row.id, OP)
    with env.meta.session() as s:
        rows = list(
            s.scalars(
                sa.select(AlarmHistory)
                .where(AlarmHistory.alarm_id == row.id)
                .order_by(AlarmHistory.id)
            )
        )
    assert [(h.action, h.actor, h.comment) for h in rows[1:]] == [
        ("comment", "acme-op", "looking at it"),
        ("assign", "acme-op", "acme-op"),
        ("acknowledge", "acme-op", None),
    ]


def test_bulk_acknowledge(env: Env) -> None:
    env.service.apply([change(1000, device=f"d{i}") for i in range(3)])
    ids = [a.id for a in alarms(env)]
    env.service.acknowledge("acme", ids[0], OP)
    result = env.service.acknowledge_many("acme", [*ids, "nope", ids[1]], OP, comment="shift")
    assert result.acknowledged == ids[1:]
    assert [(s["id"], s["code"]) for s in result.skipped] == [
        (ids[0], "illegal_transition"),
        ("nope", "not_found"),
    ]
    with pytest.raises(ValidationFailed, match="at most 1000"):
        env.service.acknowledge_many("acme", [str(i) for i in range(1001)], OP)


def test_tenant_isolation(env: Env) -> None:
    env.service.apply([change(1000, tenant="bolt")])
    theirs = only(env)
    assert theirs.tenant_id == "bolt"
    with pytest.raises(NotFound):
        env.service.acknowledge("acme", theirs.id, OP)
    result = env.service.acknowledge_many("acme", [theirs.id], OP)
    assert result.acknowledged == []
    assert result.skipped[0]["code"] == "not_found"
    assert only(env).state == "unack_active"


def test_one_open_alarm_per_pair_is_enforced_by_the_database(env: Env) -> None:
    env.service.apply([change(1000)])
    row = only(env)
    with pytest.raises(Conflict), env.meta.session() as s:
        s.add(
            Alarm(
                id="dup",
                tenant_id="acme",
                rule_id="hot",
                device="pump-1",
                state="unack_active",
                open=True,
                severity="high",
                raised_ts=1,
                last_change_ts=1,
            )
        )
    assert only(env).id == row.id


def test_on_change_hears_each_changed_alarm_after_commit(env: Env) -> None:
    env.service.apply([change(1000), change(1000, device="pump-2")])
    assert sorted(a["device"] for _, a in env.changed) == ["pump-1", "pump-2"]
    assert {t for t, _ in env.changed} == {"acme"}
    env.changed.clear()
    env.service.apply([change(1000)])  # a replay: nothing changed, nothing heard
    assert env.changed == []


def test_severity_and_rule_version_follow_the_latest_activation(env: Env) -> None:
    env.service.apply([change(1000, severity=Severity.LOW)])
    assert only(env).priority == 4
    env.service.apply([change(2000, severity=Severity.CRITICAL)])
    row = only(env)
    assert (row.severity, row.priority) == ("critical", 1)
    assert env.sink.notices[0].kind is NoticeKind.RAISED


def test_lifecycle_and_replay_on_postgresql(pg_env: Env) -> None:
    """The partial unique index, row locks and (tenant, rule, device) IN lists on PostgreSQL."""
    env = pg_env
    batch = [change(1000), change(2000, False), change(3000), change(3000, device="pump-2")]
    env.service.apply(batch)
    env.service.apply(batch)
    rows = alarms(env, device="pump-1")
    assert [(a.state, a.count) for a in rows] == [("unack_active", 2)]
    env.service.acknowledge("acme", rows[0].id, OP)
    env.service.apply([change(4000, False), change(5000)])
    first, second = alarms(env, device="pump-1")
    assert (first.open, second.open, second.state) == (False, True, "unack_active")
    with pytest.raises(Conflict), env.meta.session() as s:
        s.add(
            Alarm(
                id="dup",
                tenant_id="acme",
                rule_id="hot",
                device="pump-1",
                state="unack_active",
                open=True,
                severity="high",
                raised_ts=1,
                last_change_ts=1,
            )
        )
    assert env.service.tick(3000 + 60_000) == 1  # pump-2's escalates
    assert env.sink.kinds().count("escalated") == 1


@pytest.mark.parametrize("backend", ["env", "pg_env"])
def test_engine_and_operators_at_once(backend: str, request: pytest.FixtureRequest) -> None:
    """The engine's batches and operators' actions race on the same rows: every change is
    applied once, every action either works or is refused with a 409, nothing else fails."""
    env: Env = request.getfixturevalue(backend)

    env.service.apply([change(1, device=f"c{i}") for i in range(10)])
    ids = [a.id for a in alarms(env)]
    errors: list[BaseException] = []

    def engine() -> None:
        try:
            for k in range(2, 42):
                env.service.apply([change(k, k % 2 == 1, device=f"c{i}") for i in range(10)])
        except BaseException as exc:
            errors.append(exc)

    def operator() -> None:
        for _ in range(3):
            for alarm_id in ids:
                try:
                    env.service.acknowledge("acme", alarm_id, OP)
                except Conflict:
                    pass  # already acknowledged, or closed meanwhile
                except BaseException as exc:
                    errors.append(exc)

    threads = [threading.Thread(target=engine), threading.Thread(target=operator)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with env.meta.session() as s:
        pairs = list(s.scalars(sa.select(AlarmPair)))
    assert {p.last_ts_ms for p in pairs} == {41}
    for i in range(10):  # at most one open alarm per pair, whatever the interleaving
        assert len([a for a in alarms(env, device=f"c{i}") if a.open]) <= 1
