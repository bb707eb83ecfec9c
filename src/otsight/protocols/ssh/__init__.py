"""SSH: version banners and KEXINIT algorithm lists (cleartext part of the handshake)."""

from .dissector import SshDissector

__all__ = ["SshDissector"]
