"""Plain domain rules: no aiohttp and no SQL, so views, store and media can all use them."""
