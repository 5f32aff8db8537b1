"""Day-ahead 15-minute load forecast on the UCI steel-plant data (and on live power meters)."""
