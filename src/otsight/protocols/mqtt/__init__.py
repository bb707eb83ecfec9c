"""MQTT 3.1 / 3.1.1 / 5.0 over TCP (port 1883; 8883 is TLS and not decoded here)."""
