"""ISA-18.2 / IEC 62682 alarms: the state machine (:mod:`~helan.rules.alarms.states`), the
service that applies condition changes and operator actions
(:mod:`~helan.rules.alarms.service`), reading (:mod:`~helan.rules.alarms.queries`) and the
alarm-system performance report (:mod:`~helan.rules.alarms.report`)."""

from helan.rules.alarms.service import AlarmService, BulkResult
from helan.rules.alarms.states import Event, IllegalTransition, State, transition

__all__ = ["AlarmService", "BulkResult", "Event", "IllegalTransition", "State", "transition"]
