"""First start: make sure someone can log in."""

from __future__ import annotations

import logging
import os
import secrets

import sqlalchemy as sa

from helan.config import Settings
from helan.core.errors import Conflict
from helan.core.hashing import hash_password
from helan.security import audit
from helan.security.principal import Role
from helan.storage.meta.models import User
from helan.storage.meta.store import MetaStore

log = logging.getLogger(__name__)

ADMIN_USERNAME = "admin"
PASSWORD_FILE = "admin-password.txt"  # noqa: S105 - a file name


def bootstrap_admin(meta: MetaStore, settings: Settings | None = None) -> str | None:
    """With no users at all, create the platform administrator ``admin``.

    Its password is ``HELAN_ADMIN_PASSWORD`` when set (then nothing is returned), else a
    generated one that is returned once to be shown, and written (mode 0600) to
    ``data_dir/admin-password.txt`` when settings are given.
    """
    from_env = os.environ.get("HELAN_ADMIN_PASSWORD") or None
    password = from_env or secrets.token_urlsafe(18)
    try:
        with meta.session() as s:
            if s.scalar(sa.select(sa.func.count()).select_from(User)):
                return None
            s.add(
                User(
                    username=ADMIN_USERNAME,
                    tenant_id=None,
                    role=Role.PLATFORM_ADMIN.value,
                    display_name="Platform administrator",
                    password_hash=hash_password(password),
                )
            )
            audit.record(
                s,
                actor_kind="system",
                actor="bootstrap",
                tenant=None,
                action="user.create",
                object_type="user",
                object_id=ADMIN_USERNAME,
                detail={"password_from": "env" if from_env else "generated"},
            )
    except Conflict:  # another process bootstrapped at the same moment
        return None
    log.warning("created platform administrator %r", ADMIN_USERNAME)
    if from_env:
        return None
    if settings is not None:
        path = settings.data_dir / PASSWORD_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
    return password
