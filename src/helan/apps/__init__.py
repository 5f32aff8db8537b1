"""Apps: plugins that add routes, console pages, jobs and stream handlers to the platform.

Third-party apps register under the ``helan.apps`` entry-point group; the built-in ones go
through the same :class:`~helan.apps.manager.AppManager`. Hooks are in :mod:`.hookspecs`,
what apps may touch is :mod:`.sdk`. See docs/apps.md.
"""

from helan.apps.descriptors import ConsolePage, Subscription
from helan.apps.hookspecs import hookimpl
from helan.ingest.stream import CommittedBatch, CommittedEvents

__all__ = ["CommittedBatch", "CommittedEvents", "ConsolePage", "Subscription", "hookimpl"]
