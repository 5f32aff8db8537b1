"""A versioned model registry on the file system: ``{root}/{name}/v{n}/`` holds the artefact
(``model.joblib``) and its card (``card.json``: data set, metrics, parameters, seed, code and
library versions, the artefact's SHA-256).

Why joblib: it is scikit-learn's and LightGBM's own persistence. It unpickles, so the registry
loads only artefacts whose SHA-256 matches the card it wrote, and refuses an artefact written by
another format or library version with a message naming both (a model pickled by another
scikit-learn may load and predict wrongly without a word).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib

from helan.core.errors import NotFound, ValidationFailed

FORMAT = 1
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
# Libraries whose version an artefact depends on: a different major.minor refuses the load.
LIBRARIES = ("scikit-learn", "lightgbm", "numpy")


class ModelVersionError(ValidationFailed):
    """The artefact was written by another registry format or library version."""


def _library_versions() -> dict[str, str]:
    found = {}
    for lib in LIBRARIES:
        try:
            found[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            continue
    return found


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def code_version() -> str:
    """The commit the code runs from (``git describe``) or the package version."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],  # noqa: S607 - git from PATH, fixed arguments
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return metadata.version("helan")


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelCard:
    name: str
    version: int
    dataset: str
    metrics: dict[str, Any]
    params: dict[str, Any]
    seed: int
    created_ms: int
    code_version: str
    libraries: dict[str, str]
    sha256: str
    format: int = FORMAT
    notes: dict[str, Any] = field(default_factory=dict)


class Registry:
    """Models by name and version; the newest version unless one is asked for."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _dir(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValidationFailed(f"model name {name!r}: lower-case letters, digits, _ and -")
        return self.root / name

    def versions(self, name: str) -> list[int]:
        base = self._dir(name)
        if not base.is_dir():
            return []
        return sorted(int(p.name[1:]) for p in base.iterdir() if re.fullmatch(r"v\d+", p.name))

    def save(
        self,
        name: str,
        model: object,
        *,
        dataset: str,
        metrics: dict[str, Any],
        params: dict[str, Any],
        seed: int,
        notes: dict[str, Any] | None = None,
    ) -> ModelCard:
        """Store ``model`` as the next version of ``name``; the card says how it was made."""
        base = self._dir(name)
        base.mkdir(parents=True, exist_ok=True)
        version = (self.versions(name) or [0])[-1] + 1
        tmp = base / f".v{version}.{os.getpid()}"
        tmp.mkdir()
        artefact = tmp / "model.joblib"
        joblib.dump(model, artefact, compress=3)
        card = ModelCard(
            name=name,
            version=version,
            dataset=dataset,
            metrics=metrics,
            params=params,
            seed=seed,
            created_ms=int(time.time() * 1000),
            code_version=code_version(),
            libraries=_library_versions(),
            sha256=hashlib.sha256(artefact.read_bytes()).hexdigest(),
            notes=notes or {},
        )
        (tmp / "card.json").write_text(json.dumps(asdict(card), indent=2, sort_keys=True))
        tmp.rename(base / f"v{version}")  # a version appears whole or not at all
        return card

    def card(self, name: str, version: int | None = None) -> ModelCard:
        versions = self.versions(name)
        if not versions:
            raise NotFound(f"no model {name!r} in {self.root}")
        chosen = versions[-1] if version is None else version
        path = self._dir(name) / f"v{chosen}" / "card.json"
        if not path.is_file():
            raise NotFound(f"model {name!r} has no version {chosen}")
        raw = json.loads(path.read_text())
        if raw.get("format") != FORMAT:
            raise ModelVersionError(
                f"model {name!r} v{chosen} has registry format {raw.get('format')!r}; "
                f"this Helan reads format {FORMAT}: train it again"
            )
        return ModelCard(**raw)

    def load(self, name: str, version: int | None = None) -> tuple[Any, ModelCard]:
        """The model and its card; refused when the artefact is not the one the card names or
        was made with other library versions."""
        card = self.card(name, version)
        now = _library_versions()
        for lib, made in card.libraries.items():
            have = now.get(lib)
            if have is None or _minor(have) != _minor(made):
                raise ModelVersionError(
                    f"model {name!r} v{card.version} was made with {lib} {made}; "
                    f"this Helan has {have or 'none'}: train it again"
                )
        artefact = self._dir(name) / f"v{card.version}" / "model.joblib"
        digest = hashlib.sha256(artefact.read_bytes()).hexdigest()
        if digest != card.sha256:
            raise ModelVersionError(
                f"model {name!r} v{card.version}: the artefact's SHA-256 is not the card's "
                "(changed after it was saved); refused"
            )
        return joblib.load(artefact), card

    def cards(self) -> list[ModelCard]:
        if not self.root.is_dir():
            return []
        found: list[ModelCard] = []
        for base in sorted(self.root.iterdir()):
            if base.is_dir() and _NAME.match(base.name):
                found.extend(self.card(base.name, v) for v in self.versions(base.name))
        return found
