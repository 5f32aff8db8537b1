"""The platform's parts by role: started in order, stopped in reverse, every one of them even
when one fails; a part failing to start stops those already started."""

from __future__ import annotations

import pytest

from helan.config import Settings
from helan.connect.commands.service import CommandService
from helan.ident.link.service import IdentLink
from helan.ingest.pipeline import IngestPipeline
from helan.jobs import Scheduler
from helan.platform import ROLES, Platform, parse_roles


def test_roles_are_parsed_and_unknown_ones_refused() -> None:
    assert parse_roles(["all"]) == frozenset(ROLES)
    assert parse_roles(["api,ingest", "rules"]) == {"api", "ingest", "rules"}
    assert parse_roles([]) == frozenset(ROLES)
    with pytest.raises(ValueError, match="unknown role 'injest'"):
        parse_roles(["injest"])


def _record(monkeypatch: pytest.MonkeyPatch, calls: list[str], *classes: type) -> None:
    for cls in classes:
        start, stop = cls.start, cls.stop

        async def started(self, *a, _cls=cls, _start=start, **kw):  # type: ignore[no-untyped-def]
            await _start(self, *a, **kw)
            calls.append(f"start:{_cls.__name__}")

        async def stopped(self, *a, _cls=cls, _stop=stop, **kw):  # type: ignore[no-untyped-def]
            calls.append(f"stop:{_cls.__name__}")
            await _stop(self, *a, **kw)

        monkeypatch.setattr(cls, "start", started)
        monkeypatch.setattr(cls, "stop", stopped)


async def test_parts_stop_in_reverse_even_when_one_fails_to_stop(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []
    _record(monkeypatch, calls, IngestPipeline, Scheduler, IdentLink)
    real_stop = Scheduler.stop

    async def broken_stop(self: Scheduler) -> None:
        await real_stop(self)  # type: ignore[no-untyped-call]
        raise RuntimeError("scheduler would not stop")

    monkeypatch.setattr(Scheduler, "stop", broken_stop)
    platform = Platform.build(settings.model_copy(update={"ident_port": 0}))
    await platform.start(mqtt=False)
    assert platform.readiness()["started"] is True
    await platform.stop()
    assert calls == [
        "start:IngestPipeline",
        "start:Scheduler",
        "start:IdentLink",
        "stop:IdentLink",
        "stop:Scheduler",
        "stop:IngestPipeline",  # still stopped after the scheduler failed to
    ]
    assert "stopping scheduler failed" in caplog.text
    assert not platform.pipeline.running


async def test_a_part_failing_to_start_stops_the_started_ones(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    _record(monkeypatch, calls, IngestPipeline, Scheduler)

    async def refuse(self: IdentLink) -> None:
        raise OSError("port 2641 in use")

    monkeypatch.setattr(IdentLink, "start", refuse)
    platform = Platform.build(settings)
    with pytest.raises(OSError, match="2641"):
        await platform.start(mqtt=False)
    assert calls == [
        "start:IngestPipeline",
        "start:Scheduler",
        "stop:Scheduler",
        "stop:IngestPipeline",
    ]


async def test_a_role_runs_only_its_parts(settings: Settings, nats_url: str) -> None:
    settings = settings.model_copy(update={"stream_url": nats_url, "ident_port": 0})
    platform = Platform.build(settings, ["rules"])
    assert platform.apps is None
    assert platform.ident is None
    await platform.start()
    try:
        assert platform.broker is None
        assert platform.mqtt is None
        assert not isinstance(platform.commands, CommandService)
        assert platform.watchdog is not None
        assert platform.stream_out is not None
        assert platform.stream_in is not None
        assert platform.scheduler.job_ids == []  # retention and reports belong to apps
        assert all(platform.readiness().values()), platform.readiness()
    finally:
        await platform.stop()


async def test_the_apps_role_schedules_retention_and_reports(settings: Settings) -> None:
    platform = Platform.build(settings.model_copy(update={"ident_port": 0}))
    await platform.start(mqtt=False)
    try:
        assert {"retention", "reports.scheduled"} <= set(platform.scheduler.job_ids)
    finally:
        await platform.stop()


def test_split_roles_need_a_stream_url(settings: Settings) -> None:
    platform = Platform.build(settings, ["apps"])
    try:
        with pytest.raises(ValueError, match="HELAN_STREAM_URL"):
            platform._stream_url()
    finally:
        platform.telemetry.close()
        platform.meta.close()
