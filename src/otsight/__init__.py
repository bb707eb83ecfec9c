"""otsight: passive OT/IoT network security (capture, decode, inventory, detection)."""

__version__ = "0.1.0"
