"""Sidang media data plane: ingest, program, encode once, LL-HLS, recording.

Nothing here imports aiohttp or server/.
"""
