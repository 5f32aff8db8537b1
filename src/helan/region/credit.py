"""Enterprise credit records and the blacklist, with due process.

A region's administrator records a finding (falsified claim, security incident not
reported, penalty) and gives **notice**; the enterprise may **respond** until the notice's
date; only then (after a response or once the date passed) the administrator **decides**
(upheld or dismissed; an upheld finding may blacklist for a stated number of months); the
enterprise may **appeal** within :data:`APPEAL_DAYS`; the appeal is decided (upheld or
overturned). A blacklisting is in force from an upheld decision until it **expires** or
an appeal overturns it; while in force the enterprise is refused new subsidy applications.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from helan.core.errors import Conflict, ValidationFailed

KINDS = ("falsified_claim", "unreported_incident", "penalty")
APPEAL_DAYS = 30
MAX_BLACKLIST_MONTHS = 60


@dataclass(slots=True, kw_only=True)
class Record:
    status: str  # noticed | responded | decided | appealed | closed
    respond_by: datetime
    decision: str | None = None
    decided_at: datetime | None = None
    appeal_decision: str | None = None
    blacklist: bool = False
    expires_at: datetime | None = None


def respond(r: Record, now: datetime) -> None:
    if r.status != "noticed":
        raise Conflict(f"the record is {r.status}: a response is taken only after notice")
    if now > r.respond_by:
        raise Conflict(f"the time to respond ended on {r.respond_by.isoformat()}")
    r.status = "responded"


def decide(r: Record, decision: str, months: int, now: datetime) -> None:
    if r.status not in ("noticed", "responded"):
        raise Conflict(f"the record is already {r.status}")
    if r.status == "noticed" and now <= r.respond_by:
        raise Conflict(
            f"the enterprise may respond until {r.respond_by.isoformat()}: decide after that"
        )
    if decision not in ("upheld", "dismissed"):
        raise ValidationFailed("decision: upheld or dismissed")
    if r.blacklist and decision == "upheld" and not 1 <= months <= MAX_BLACKLIST_MONTHS:
        raise ValidationFailed(f"months: a blacklisting lasts 1 to {MAX_BLACKLIST_MONTHS} months")
    r.status, r.decision, r.decided_at = "decided", decision, now
    if r.blacklist and decision == "upheld":
        r.expires_at = now + timedelta(days=30 * months)


def appeal(r: Record, now: datetime) -> None:
    if r.status != "decided" or r.decision != "upheld" or r.decided_at is None:
        raise Conflict("only an upheld decision can be appealed")
    if now > r.decided_at + timedelta(days=APPEAL_DAYS):
        raise Conflict(f"the {APPEAL_DAYS} days to appeal have passed")
    r.status = "appealed"


def decide_appeal(r: Record, decision: str) -> None:
    if r.status != "appealed":
        raise Conflict("no appeal to decide")
    if decision not in ("upheld", "overturned"):
        raise ValidationFailed("decision: upheld or overturned")
    r.status, r.appeal_decision = "closed", decision


def blacklisted(r: Record, now: datetime) -> bool:
    """Whether this record keeps the enterprise on the blacklist at ``now``."""
    return (
        r.blacklist
        and r.decision == "upheld"
        and r.appeal_decision != "overturned"
        and r.expires_at is not None
        and now < r.expires_at
    )
