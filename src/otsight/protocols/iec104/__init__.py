"""IEC 60870-5-104 over TCP: APCI framing (I/S/U formats with sequence numbers) and ASDUs
(type identification, cause of transmission, common address, information objects, commands)."""
