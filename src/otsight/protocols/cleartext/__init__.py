"""Cleartext logins: Telnet and FTP (user names only; passwords are never kept)."""
