"""Sidang control plane: the aiohttp app, store, bus, auth and views."""
