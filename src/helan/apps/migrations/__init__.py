"""Each app's own alembic chain, applied in a version table of its own.

An app's ``migrations`` hook names a versions directory; its revisions form a chain that does
not know the platform's (no down_revision into it), and ``alembic_version_app_{id}`` records
how far it got. So an app can be added, upgraded or dropped without touching the platform's
migrations, and the platform's own ``upgrade head`` never sees an app's revision.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from helan.storage.meta import MetaStore

ENV_DIR = Path(__file__).parent


def version_table(app_id: str) -> str:
    return f"alembic_version_app_{app_id}"


def upgrade_app(meta: MetaStore, app_id: str, versions: Path) -> None:
    """Bring ``app_id``'s tables to the newest revision in ``versions`` (blocking)."""
    if not versions.is_dir():
        raise FileNotFoundError(f"app {app_id!r}: migrations directory {versions} is missing")
    cfg = Config()
    cfg.set_main_option("script_location", ENV_DIR.as_posix())
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", versions.as_posix())
    with meta.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        cfg.attributes["version_table"] = version_table(app_id)
        command.upgrade(cfg, "heads")
