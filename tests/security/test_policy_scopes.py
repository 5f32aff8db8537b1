"""API-key scope families of the one policy, and the families apps register."""

from __future__ import annotations

import pytest

from helan.security.policy import key_allows, register_families, scope_family


def test_route_family_is_its_last_known_segment() -> None:
    assert scope_family("/api/v1/tenants/{tenant}/devices/{device}/telemetry") == "telemetry"
    assert scope_family("/api/v1/tenants/{tenant}/products:bulk") == "devices"
    assert scope_family("/api/v1/tenants/{tenant}/devices/{device}/commands") == "commands"
    assert scope_family("/api/v1/tenants/{tenant}/users") == "admin"  # unknown: admin only
    assert scope_family("") == "admin"


def test_read_write_and_admin_scopes() -> None:
    assert key_allows(["telemetry:read"], "telemetry", write=False)
    assert not key_allows(["telemetry:read"], "telemetry", write=True)
    assert key_allows(["devices:write"], "devices", write=False)
    assert not key_allows(["devices:write"], "commands", write=True)
    assert not key_allows(["devices:write", "telemetry:write"], "admin", write=False)
    assert key_allows(["admin"], "admin", write=True)
    assert not key_allows([], "telemetry", write=False)


def test_apps_register_families_but_cannot_take_built_in_routes() -> None:
    register_families({"quality-test-reports": "quality_test"})
    assert scope_family("/api/v1/tenants/{tenant}/quality-test-reports") == "quality_test"
    register_families({"quality-test-reports": "quality_test"})  # the same pair again is fine
    with pytest.raises(ValueError, match="already family 'telemetry'"):
        register_families({"telemetry": "quality_test"})
    for bad in ({"": "x"}, {"a/b": "x"}, {"x": ""}, {"x": "admin"}):
        with pytest.raises(ValueError, match="bad scope family"):
            register_families(bad)
    assert scope_family("/api/v1/tenants/{tenant}/devices/{device}/telemetry") == "telemetry"
