"""Built-in app: a day-ahead 15-minute load forecast for every power meter of its tenants."""
