"""The store: SQLAlchemy 2 async models, one Store object, and repository functions.

One way in: `async with store.transaction() as session:` then call the repository functions in
`server.store.repo`. A failed request rolls the whole transaction back, so nothing is half-written.
"""

from server.store.engine import Store

__all__ = ["Store"]
