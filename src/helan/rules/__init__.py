"""Rules, alarms and notifications (issue 8).

- :mod:`helan.rules.model`, :mod:`~helan.rules.expr`, :mod:`~helan.rules.checks`: the rule
  language (pydantic, CEL expressions) and its validation against the thing model;
- :mod:`helan.rules.evaluator`: conditions over committed Arrow batches, with snapshot/restore;
- :mod:`helan.rules.store`: rules per tenant, versioned; :mod:`~helan.rules.backtest`;
- :mod:`helan.rules.engine`: the ``rules`` role's subscriber of the committed-data stream;
- :mod:`helan.rules.alarms`: the ISA-18.2 alarm lifecycle, history and performance report;
- :mod:`helan.rules.notify`: the durable outbox and its channels.

:mod:`helan.rules.contracts` is what the three hand each other.
"""
