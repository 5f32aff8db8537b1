"""Bearing fault diagnosis on CWRU's 12 kHz drive-end vibration: features and a classifier."""
