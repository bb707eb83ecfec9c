"""BACnet/IP (ASHRAE 135 Annex J) over UDP: BVLC, NPDU (routing, network-layer messages) and
APDU (confirmed/unconfirmed services, acks, errors) with the fields inventory and detection use."""
