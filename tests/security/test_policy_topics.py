"""Device topic rights of the one policy: what each credential may publish and subscribe to."""

from __future__ import annotations

import pytest

from helan.security.policy import covers, device_topics, service_topics


def test_device_publishes_and_reads_only_its_own_and_childrens_tree() -> None:
    rights = device_topics("acme", "gw", ["pump-1"])
    assert rights.may_publish("helan/v1/acme/gw/telemetry")
    assert rights.may_publish("helan/v1/acme/pump-1/events")
    assert rights.may_subscribe("helan/v1/acme/gw/commands/+")
    assert rights.may_subscribe("helan/v1/acme/pump-1/#")
    assert not rights.may_publish("helan/v1/acme/pump-2/telemetry")
    assert not rights.may_publish("helan/v1/other/gw/telemetry")
    assert not rights.may_subscribe("helan/v1/acme/+/telemetry")
    assert not rights.may_subscribe("helan/v1/#")
    assert not rights.may_subscribe("#")


def test_sparkplug_edge_node_up_and_down() -> None:
    rights = device_topics("acme", "gw")
    assert rights.may_publish("spBv1.0/acme/NBIRTH/gw")
    assert rights.may_publish("spBv1.0/acme/DDATA/gw/line-1")
    assert not rights.may_publish("spBv1.0/acme/NCMD/gw")  # commands come from the host
    assert not rights.may_publish("spBv1.0/acme/NDATA/other")
    assert not rights.may_publish("spBv1.0/other/NDATA/gw")
    assert rights.may_subscribe("spBv1.0/acme/NCMD/gw")
    assert rights.may_subscribe("spBv1.0/acme/DCMD/gw/#")
    assert not rights.may_subscribe("spBv1.0/acme/NDATA/gw")
    assert not rights.may_subscribe("spBv1.0/acme/+/gw")


def test_wildcards_and_malformed_topics_never_publish() -> None:
    rights = device_topics("acme", "gw")
    for topic in ("helan/v1/acme/gw/+", "helan/v1/acme/gw/#", "", "helan/v1/acme/gw/\x00"):
        assert not rights.may_publish(topic)
    for bad_filter in ("helan/v1/acme/gw/#/x", "helan/v1/acme/gw/a+", "", "helan/v1/acme/gw/\x00"):
        assert not rights.may_subscribe(bad_filter)


@pytest.mark.parametrize(
    ("tenant", "device", "children"),
    [("ac+me", "gw", ()), ("acme", "g/w", ()), ("acme", "gw", ("#",)), ("acme", "", ())],
)
def test_ids_that_could_widen_a_filter_are_refused(
    tenant: str, device: str, children: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="invalid"):
        device_topics(tenant, device, children)


def test_service_reads_ingest_and_writes_commands_only() -> None:
    rights = service_topics()
    assert rights.may_subscribe("helan/v1/+/+/telemetry")
    assert rights.may_subscribe("helan/v1/acme/gw/commands/c-1/reply")
    assert rights.may_subscribe("spBv1.0/#")
    assert rights.may_publish("helan/v1/acme/gw/commands/c-1")
    assert rights.may_publish("spBv1.0/acme/DCMD/gw/line-1")
    assert not rights.may_publish("helan/v1/acme/gw/telemetry")  # no forging device data
    assert not rights.may_publish("spBv1.0/acme/NDATA/gw")
    assert not rights.may_subscribe("#")


def test_covers_follows_mqtt_matching() -> None:
    assert covers("a/#", "a")  # "a/#" also matches its parent level
    assert covers("a/+/c", "a/b/c")
    assert not covers("a/+", "a/#")
    assert not covers("a/+", "a/b/c")
    assert not covers("a/b", "a/b/c")
    assert not covers("#", "$SYS/broker")
    assert not covers("+/x", "$SYS/x")


def test_embedded_broker_grants_what_the_policy_grants() -> None:
    """The NATS subjects of the embedded broker are the policy's filters (plus the parent level
    a final ``#`` names), until the broker takes its rights from the policy directly."""
    from helan.connect.nats.rights import device_rights, subject
    from helan.core.thing import DeviceRef

    class Directory:
        def children(self, tenant: str, gateway: str) -> frozenset[str]:
            return frozenset({"pump-1"})

    ref = DeviceRef(tenant="acme", device="gw", device_type=None)
    publish, receive = device_rights(Directory(), ref)  # type: ignore[arg-type]
    policy = device_topics("acme", "gw", ["pump-1"])

    def with_parents(filters: tuple[str, ...]) -> set[str]:
        out = {subject(f) for f in filters}
        return out | {s.removesuffix(".>") for s in out}

    assert set(publish) <= with_parents(policy.publish)
    assert {subject(f) for f in policy.publish} <= set(publish)
    assert set(receive) <= with_parents(policy.subscribe)
    assert {subject(f) for f in policy.subscribe} <= set(receive)
