"""`briefing demo`: the whole pipeline offline, on sample feeds served from loopback."""
