"""Siemens S7comm over ISO-on-TCP (TPKT/COTP, port 102), with S7comm-plus basics."""
