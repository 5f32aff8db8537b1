"""A bounded schemathesis run in the suite: requests generated from the OpenAPI document (valid
and invalid), sent with an admin token to the in-process app, and none may answer 5xx.

The long run (15 minutes against ``helan run``) is in docs/api.md; this one keeps the property
in every test run, cheaply: a few examples per operation, derandomised so a failure replays.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from meta_world import close_platform, make_api

MAX_EXAMPLES = 4


@pytest.fixture(scope="module")
def admin_headers(api_schema: Any) -> dict[str, str]:
    headers: dict[str, str] = api_schema.helan_admin
    return headers


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    api, platform = make_api(tmp_path_factory.mktemp("schemathesis") / "var")
    with api.client:
        loaded = schemathesis.openapi.from_asgi("/openapi.json", api.app)
        loaded.helan_admin = api.as_admin()
        yield loaded
    close_platform(platform)


schema = schemathesis.pytest.from_fixture("api_schema")


# Every operation of the API in one test (schemathesis's subtests): with the apps', the
# traceability and the regional routes that is ~240 operations, about 2.5 minutes on 2 cores.
@pytest.mark.timeout(360)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: Any, admin_headers: dict[str, str]) -> None:
    response = case.call(headers=admin_headers)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
    )
