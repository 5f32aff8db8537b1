"""The real recordings the simulator replays, read from the package (works from an installed wheel).

Sources and licences: ``data/skab/SOURCE.md`` and ``data/steel-energy/SOURCE.md`` here.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

SKAB_COLUMNS = (
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
)
NORMAL_RUN = "anomaly-free"
# Fault name -> file under data/skab; each file holds one labelled collective anomaly.
SKAB_ANOMALIES = {
    "valve1-13": "valve1/13.csv",
    "valve2-1": "valve2/1.csv",
    "other-5": "other/5.csv",
    "other-14": "other/14.csv",
}

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SkabRecording:
    """One SKAB file: ``values[row, column]`` (:data:`SKAB_COLUMNS` order), ``anomaly`` per row."""

    name: str
    values: FloatArray
    anomaly: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.values.shape[0])


@dataclass(frozen=True, slots=True)
class SteelProfile:
    """15-minute intervals of the steel plant: mean kW, net kvar, and the plant's kg CO2 per kWh."""

    power_kw: FloatArray
    reactive_kvar: FloatArray
    co2_kg_per_kwh: float

    INTERVAL_S = 900


def _read_text(*parts: str) -> str:
    node = resources.files("helan.sim").joinpath("data", *parts)
    return node.read_text(encoding="utf-8-sig")


@cache
def skab(name: str) -> SkabRecording:
    """``anomaly-free`` or a key of :data:`SKAB_ANOMALIES`."""
    parts: tuple[str, ...]
    if name == NORMAL_RUN:
        parts = ("skab", "anomaly-free", "anomaly-free.csv")
    elif name in SKAB_ANOMALIES:
        parts = ("skab", *SKAB_ANOMALIES[name].split("/"))
    else:
        known = ", ".join([NORMAL_RUN, *SKAB_ANOMALIES])
        raise KeyError(f"unknown SKAB recording {name!r}; known: {known}")
    reader = csv.DictReader(io.StringIO(_read_text(*parts)), delimiter=";")
    rows = list(reader)
    values = np.array([[float(r[c]) for c in SKAB_COLUMNS] for r in rows], dtype=np.float64)
    anomaly = np.array([float(r.get("anomaly") or 0.0) > 0.5 for r in rows], dtype=np.bool_)
    return SkabRecording(name=name, values=values, anomaly=anomaly)


@cache
def steel() -> SteelProfile:
    text = _read_text("steel-energy", "Steel_industry_data_2018-01.csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    usage = np.array([float(r["Usage_kWh"]) for r in rows])
    lagging = np.array([float(r["Lagging_Current_Reactive_Power_kVarh"]) for r in rows])
    leading = np.array([float(r["Leading_Current_Reactive_Power_kVarh"]) for r in rows])
    co2_t = np.array([float(r["CO2(tCO2)"]) for r in rows])
    per_hour = 3600 / SteelProfile.INTERVAL_S
    return SteelProfile(
        power_kw=usage * per_hour,
        reactive_kvar=(lagging - leading) * per_hour,
        co2_kg_per_kwh=float(co2_t.sum() * 1000 / usage.sum()),
    )
