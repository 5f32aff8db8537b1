"""The outbound allow-list: loopback, private, link-local, metadata and other non-public
addresses refused unless listed, checked again when sending (DNS may have changed)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import sqlalchemy as sa

from helan.config import Settings
from helan.core.errors import ValidationFailed
from helan.rules.notify import Delivery
from helan.rules.notify.allowlist import check_url
from helan.storage.meta import MetaStore
from helan.storage.meta.models_notify import NotificationDelivery
from tests.rules.notify.conftest import SECRET, add_channel, enqueue, notice
from tests.rules.notify.receiver import Receiver

FAKE_DNS = {"intranet.example": ["10.1.2.3"], "public.example": ["93.184.215.14"]}


def fake_dns(host: str, port: int) -> Sequence[str]:
    """Stands in for DNS (which the test machine has not), nothing else."""
    return FAKE_DNS[host]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://localhost:8080/",  # the system resolver's answer: loopback
    ],
)
def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(ValidationFailed, match="non-public address") as caught:
        check_url(url, [])
    assert caught.value.details == [
        {"loc": ["config", "url"], "message": caught.value.message, "type": "url_not_allowed"}
    ]


def test_hostname_resolving_to_a_private_address_is_refused() -> None:
    with pytest.raises(ValidationFailed, match=r"intranet.example:443 resolves to 10\.1\.2\.3"):
        check_url("https://intranet.example/hook", [], resolve=fake_dns)
    check_url("https://public.example/hook", [], resolve=fake_dns)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8080/hook", ["127.0.0.1"]),
        ("http://127.0.0.1:8080/hook", ["127.0.0.1:8080"]),
        ("http://LOCALHOST:8080/hook", ["localhost"]),
        ("http://[::1]:9000/", ["[::1]:9000"]),
        ("https://intranet.example/", ["intranet.example:443"]),
    ],
)
def test_listed_hosts_pass(url: str, allowed: list[str]) -> None:
    check_url(url, allowed, resolve=fake_dns)


@pytest.mark.parametrize(
    ("url", "allowed", "match"),
    [
        ("http://127.0.0.1:8080/hook", ["127.0.0.1:9090"], "non-public"),
        ("ftp://public.example/x", [], "http:// or https://"),
        ("http://no-such-host.invalid/", [], "does not resolve"),
    ],
)
def test_other_refusals(url: str, allowed: list[str], match: str) -> None:
    with pytest.raises(ValidationFailed, match=match):
        check_url(url, allowed)


async def test_checked_again_at_send_time(
    meta: MetaStore, fast: Settings, receiver: Receiver
) -> None:
    """A channel saved while its host was allowed (or resolved elsewhere) is not sent to."""
    add_channel(meta, config={"url": receiver.url, "secret": SECRET})
    add_channel(meta, id="dns", config={"url": "http://public.example/", "secret": SECRET})
    FAKE_DNS["public.example"] = ["192.168.7.7"]  # the name now points inside
    strict = fast.model_copy(update={"notify_allowed_hosts": []})
    worker = Delivery(meta, strict, resolve=fake_dns)
    try:
        enqueue(meta, [notice(1, channels=("hook", "dns"))])
        await worker.run_once()
    finally:
        await worker.stop()
        FAKE_DNS["public.example"] = ["93.184.215.14"]
    assert receiver.got == []
    with meta.session() as s:
        rows = {r.channel_id: r for r in s.scalars(sa.select(NotificationDelivery))}
    assert rows["hook"].status == "dead"
    assert "127.0.0.1" in (rows["hook"].last_error or "")
    assert rows["dns"].status == "dead"
    assert "192.168.7.7" in (rows["dns"].last_error or "")
