"""ar_bridge: the wire to the headset (ZeroMQ PUB overlays/state/heartbeat, control channel)."""
