"""Modbus/TCP (MBAP framing, all public function codes, exceptions, MEI 43/14 device ids)."""
