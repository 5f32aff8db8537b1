"""Features of one vibration window: time-domain statistics, band energies of the spectrum,
and band energies of the envelope spectrum (where bearing defect frequencies show: BPFI, BPFO
and BSF at 0 HP are about 162, 107 and 141 Hz and their harmonics).

Why features and a tree model rather than a deep net: a few dozen physically meaningful numbers
per window train in seconds on two cores and carry over across loads and sensors better than a
network fitted to one rig's raw waveforms.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, hilbert, sosfiltfilt
from scipy.stats import kurtosis, skew

from helan.models.bearing.cwru import RATE_HZ

Array = npt.NDArray[np.float64]
SPECTRUM_BANDS = 32  # 0..6 kHz in 187.5 Hz bands
ENVELOPE_MAX_HZ = 600.0
ENVELOPE_BANDS = 30  # 20 Hz bands
_BANDPASS = butter(4, (2_000.0, 5_500.0), btype="bandpass", fs=RATE_HZ, output="sos")


def _band_energies(power: Array, freqs: Array, top: float, bands: int) -> Array:
    edges = np.linspace(0.0, top, bands + 1)
    index = np.clip(np.digitize(freqs, edges) - 1, 0, bands)
    sums = np.stack([power[:, index == b].sum(axis=1) for b in range(bands)], axis=1)
    total = sums.sum(axis=1, keepdims=True)
    out: Array = np.log10(sums / np.maximum(total, 1e-30) + 1e-12)
    return out


def extract(windows: Array) -> Array:
    """One feature row per window (rows x samples)."""
    x = windows - windows.mean(axis=1, keepdims=True)
    rms = np.sqrt((x * x).mean(axis=1))
    peak = np.abs(x).max(axis=1)
    mean_abs = np.abs(x).mean(axis=1)
    time_features = np.column_stack(
        [
            np.log10(rms + 1e-12),
            np.log10(peak + 1e-12),
            kurtosis(x, axis=1),
            skew(x, axis=1),
            peak / np.maximum(rms, 1e-12),  # crest factor
            rms / np.maximum(mean_abs, 1e-12),  # shape factor
            peak / np.maximum(mean_abs, 1e-12),  # impulse factor
        ]
    )
    n = x.shape[1]
    freqs: Array = np.fft.rfftfreq(n, 1.0 / RATE_HZ).astype(np.float64)
    power = np.abs(np.fft.rfft(x * np.hanning(n), axis=1)) ** 2
    spectrum = _band_energies(power, freqs, RATE_HZ / 2.0, SPECTRUM_BANDS)
    envelope = np.abs(hilbert(sosfiltfilt(_BANDPASS, x, axis=1), axis=1))
    envelope -= envelope.mean(axis=1, keepdims=True)
    env_power = np.abs(np.fft.rfft(envelope * np.hanning(n), axis=1)) ** 2
    keep = freqs <= ENVELOPE_MAX_HZ
    env = _band_energies(env_power[:, keep], freqs[keep], ENVELOPE_MAX_HZ, ENVELOPE_BANDS)
    return np.column_stack([time_features, spectrum, env])
