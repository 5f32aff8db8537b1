"""Notifications: channels per tenant, the transactional outbox the alarms write to, and the
delivery worker that sends it at least once (docs/rules.md)."""

from helan.rules.notify.delivery import Delivery
from helan.rules.notify.outbox import Outbox

__all__ = ["Delivery", "Outbox"]
