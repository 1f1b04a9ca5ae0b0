"""The live sitting: WHIP ingest, the program and its LL-HLS output, owned by one node.

`service.LiveService` keeps this node's `media.live.LiveSitting` objects and the owner record on
the bus; `views` declares the WHIP, playlist and console routes.
"""
