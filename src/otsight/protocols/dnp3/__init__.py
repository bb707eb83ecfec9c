"""DNP3 (IEEE 1815) over TCP and UDP: link frames with CRCs, transport reassembly, application
fragments with function codes, IIN and object headers."""
