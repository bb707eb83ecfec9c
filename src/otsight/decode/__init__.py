"""L2-L4 decoding, IP fragment reassembly, flows and TCP stream reassembly."""
