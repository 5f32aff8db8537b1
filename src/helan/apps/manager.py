"""The app plugin manager: one pluggy ``PluginManager`` per platform, never per process.

It is created when the platform is built and loads the ``helan.apps`` entry points then, not
at import, so tests can build platforms with different apps side by side. Built-in apps are
registered through :meth:`AppManager.register` exactly like the third-party ones the entry
points name; the only difference is where the module comes from.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import pluggy

from helan.apps import hookspecs
from helan.apps.descriptors import APP_ID
from helan.core.errors import Conflict, ValidationFailed

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "helan.apps"
# Apps that ship with Helan: module paths, registered under the last component as app id.
BUILTIN_APPS = (
    "helan.apps.builtin.data_quality",
    "helan.apps.builtin.anomaly",
    "helan.apps.builtin.oee",
    "helan.apps.builtin.energy",
    "helan.apps.builtin.scheduling",
    "helan.apps.builtin.forecast",
)


class AppManager:
    def __init__(self) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self.failed: dict[str, str] = {}  # entry points that could not be loaded, and why

    @property
    def app_ids(self) -> list[str]:
        """Registered apps, in registration order."""
        return [name for name, _ in self._pm.list_name_plugin()]

    def register(self, app: object, app_id: str) -> None:
        """Register ``app`` (a module or object with ``@hookimpl`` functions) as ``app_id``."""
        if not APP_ID.match(app_id):
            raise ValidationFailed(f"app id {app_id!r}: lower-case letters, digits, _ (max 64)")
        if self._pm.has_plugin(app_id) or self._pm.is_registered(app):
            raise Conflict(f"app {app_id!r} is already registered")
        try:
            self._pm.register(app, name=app_id)
            # A hook name the specs do not know (a typo, a hook from a newer Helan) fails here.
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self._pm.has_plugin(app_id):
                self._pm.unregister(name=app_id)
            raise ValidationFailed(f"app {app_id!r}: {exc}") from exc

    def load_builtins(self, modules: Iterable[str] = BUILTIN_APPS) -> None:
        for path in modules:
            self.register(importlib.import_module(path), path.rsplit(".", 1)[1])

    def load_entry_points(self, eps: Iterable[EntryPoint] | None = None) -> None:
        """Register every ``helan.apps`` entry point (or ``eps``); one that fails to import or
        register is logged and listed in :attr:`failed`, and the others still load."""
        found = entry_points(group=ENTRY_POINT_GROUP) if eps is None else eps
        for ep in found:
            try:
                self.register(ep.load(), ep.name)
            except Exception as exc:  # a broken third-party package must not stop the platform
                self.failed[ep.name] = f"{type(exc).__name__}: {exc}"
                log.exception("app %r (%s) could not be loaded", ep.name, ep.value)

    def static_dir(self, app_id: str) -> Path | None:
        """The ``static/`` folder beside the app's module (console page JS), if it has one."""
        module = inspect.getmodule(self._pm.get_plugin(app_id))
        where = getattr(module, "__file__", None)
        if where is None:
            return None
        folder = (Path(where).parent / "static").resolve()
        return folder if folder.is_dir() else None

    def call(self, app_id: str, hook: str, **kwargs: Any) -> list[Any]:
        """Call ``hook`` of one app only, with the arguments its implementation names; the
        results (none if the app lacks the hook)."""
        if not self._pm.has_plugin(app_id):
            raise ValidationFailed(f"no app {app_id!r}")
        caller = getattr(self._pm.hook, hook)
        return [
            impl.function(**{name: kwargs[name] for name in impl.argnames})
            for impl in caller.get_hookimpls()
            if impl.plugin_name == app_id
        ]
