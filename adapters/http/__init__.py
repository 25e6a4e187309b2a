"""The node as an HTTP service: OMG's watcher and child-chain API (FastAPI), and routes for
what OMG never had (validators, fee votes, invariants, the audit of the node's own log)."""
