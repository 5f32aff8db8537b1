"""The edge gateway (``helan edge``): reads PLCs over Modbus TCP and OPC UA, keeps every reading
in a durable buffer, and forwards it upstream over MQTT (native JSON or Sparkplug B)."""
