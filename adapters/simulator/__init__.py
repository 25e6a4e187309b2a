"""The deterministic simulator (`omg simulate`): one seed drives the real node, store, contracts,
follower and watcher through honest, malicious and byzantine actors and injected faults."""
