"""Live comments: the per-node hub that fans comments out to sockets, and the service that
admits, stores, moderates and publishes them on the bus so that every node is one room."""
