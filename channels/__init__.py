"""One adapter per channel: accept at the edge, store raw, hand an Inbound on, deliver replies."""
