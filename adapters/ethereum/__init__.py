"""Ethereum adapter: the Vyper root-chain contracts and their deployment."""
