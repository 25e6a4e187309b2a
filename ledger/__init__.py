"""The domain: events, immutable state, the one pure transition, the event store, replay."""
