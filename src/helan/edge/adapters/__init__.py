"""Protocol adapters, one folder each with the same files: ``config`` (points as data), ``codec``
(pure value conversion), ``client`` (the protocol library, errors turned into one exception
type), ``adapter`` (the :class:`~helan.edge.adapters.base.Adapter` the gateway runs)."""
