"""CoAP (RFC 7252): the constrained application protocol of IoT devices."""
