"""Anomaly detection: SKAB's protocol (point F1/FAR/MAR and a NAB-style changepoint score) and
NAB's own corpus scoring (windows, sigmoid weighting, standard profile)."""
