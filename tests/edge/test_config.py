"""``edge.toml`` loading: a good file validates, a bad one names every wrong field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helan.edge.config import EdgeConfigError, load_config

GOOD = """
[uplink]
tenant = "acme"
format = "sparkplug"

[[modbus]]
name = "pump-plc"
host = "127.0.0.1"
device = "pump-1"
[[modbus.points]]
metric = "pressure"
address = 0
type = "float32"
"""


def test_good_file(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(GOOD)
    cfg = load_config(path)
    assert cfg.uplink.format == "sparkplug"
    assert cfg.modbus[0].points[0].type == "float32"
    assert cfg.buffer.policy == "drop-oldest"


def test_bad_file_names_each_field(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(GOOD.replace('type = "float32"', 'type = "float16"\nscale = 0'))
    with pytest.raises(EdgeConfigError) as err:
        load_config(path)
    assert "modbus.0.points.0.type" in str(err.value)
    (tmp_path / "broken.toml").write_text("[uplink\n")
    with pytest.raises(EdgeConfigError, match="not valid TOML"):
        load_config(tmp_path / "broken.toml")
    with pytest.raises(EdgeConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_cli_exits_2_on_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text("[uplink]\ntenant = 'Not Valid'\n")
    done = subprocess.run(
        [sys.executable, "-m", "helan", "edge", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "uplink.tenant" in done.stderr
