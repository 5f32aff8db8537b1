"""The embedded NATS server (MQTT listener, JetStream file storage) and its device auth callout."""
