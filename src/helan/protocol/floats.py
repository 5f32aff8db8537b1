"""Float32 values as people wrote them: PLC registers and Sparkplug Float metrics hold float32,
and 1.1 must arrive as 1.1 on both sides of the wire, not as 1.100000023841858."""

from __future__ import annotations

import math

import numpy as np


def shortest_float32(value: float) -> float:
    """The shortest decimal that is this float32 (1.1, not 1.100000023841858)."""
    return float(str(np.float32(value))) if math.isfinite(value) else value
