"""Another platform's trace service as a genealogy source: ``GET {base}/api/v1/trace-share/
naming?keys=...`` with the token that platform's enterprise issued this one (header
``X-Helan-Trace-Token``). The answer is already cut to the agreement there; what was
withheld comes back with it and is passed on. A failing partner makes the trace say so
(``unreachable``) instead of failing the whole trace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from helan.trace.genealogy import View

TOKEN_HEADER = "X-Helan-Trace-Token"  # noqa: S105 - a header name, not a secret
MAX_KEYS = 500


class RemoteSource:
    def __init__(self, base_url: str, token: str, *, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.name = self.base_url
        self._client = client or httpx.Client(timeout=10.0)
        self._withheld: list[dict[str, Any]] = []

    def naming(self, keys: Sequence[str]) -> dict[str, list[View]]:
        out: dict[str, list[View]] = {k: [] for k in keys}
        for i in range(0, len(keys), MAX_KEYS):
            chunk = list(keys[i : i + MAX_KEYS])
            try:
                r = self._client.get(
                    f"{self.base_url}/api/v1/trace-share/naming",
                    params={"keys": ",".join(chunk)},
                    headers={TOKEN_HEADER: self.token},
                )
                r.raise_for_status()
                data = r.json()
            except (httpx.HTTPError, ValueError) as exc:
                self._withheld.append({"source": self.name, "reason": f"unreachable: {exc}"})
                continue
            for key, items in data.get("events", {}).items():
                out[key] = [_view(item, self.name) for item in items]
            self._withheld.extend(data.get("withheld", []))
        return out

    def withheld(self) -> list[dict[str, Any]]:
        return self._withheld


def _view(item: dict[str, Any], owner: str) -> View:
    return View(
        event_id=item["eventID"],
        event_type=item["eventType"],
        event_time_ms=int(item["eventTimeMs"]),
        action=item.get("action"),
        biz_step=item.get("bizStep"),
        disposition=item.get("disposition"),
        biz_location=item.get("bizLocation"),
        refs=item["refs"],
        owner=item.get("owner", owner),
        body=item.get("event"),
    )


def view_out(v: View) -> dict[str, Any]:
    """A view as the share API sends it (``_view`` reads it back)."""
    return {
        "eventID": v.event_id,
        "eventType": v.event_type,
        "eventTimeMs": v.event_time_ms,
        "action": v.action,
        "bizStep": v.biz_step,
        "disposition": v.disposition,
        "bizLocation": v.biz_location,
        "refs": v.refs,
        "owner": v.owner,
        "event": v.body,
    }
