"""Remaining useful life on NASA C-MAPSS: per-condition normalised windows and LightGBM."""
