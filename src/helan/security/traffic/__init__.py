"""Traffic anomaly detection: the gateway's Modbus/TCP allow-list (live taps and pcap files)
and per-device MQTT behaviour baselines, both raising security events."""
