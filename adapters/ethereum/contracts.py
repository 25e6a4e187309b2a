"""Compile the root-chain contracts (Vyper 0.4, `contracts/*.vy`) and deploy them with web3.

The contracts are compiled from source by vyper's Python API on first use and cached
for the life of the process; there is no bytecode checked in. `deploy_plasma` deploys
the whole root chain (framework, both vaults, the payment exit game), registers the
vaults and the exit game, and opens the ETH exit queue, as OMG's migrations do.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, NamedTuple

CONTRACTS_DIR = Path(__file__).parent / "contracts"
EVM_VERSION = "cancun"  # transient storage (nonreentrant) and MCOPY; accepted by py-evm and anvil

ETH_VAULT_ID = 1  # plasma-contracts' deployment: vault 1 holds ETH, vault 2 ERC20
ERC20_VAULT_ID = 2
PAYMENT_TX_TYPE = 1
PROTOCOL_MORE_VP = 2
ETH_TOKEN = "0x" + "00" * 20
MIN_EXIT_PERIOD_S_DEFAULT = 7 * 24 * 3600
STANDARD_EXIT_BOND_WEI_DEFAULT = 14_000_000_000_000_000  # plasma-contracts' initial standard exit bond


class Compiled(NamedTuple):
    abi: list[dict[str, Any]]
    bytecode: str  # 0x-prefixed init code


@functools.cache
def compile_contract(name: str, directory: Path = CONTRACTS_DIR) -> Compiled:
    """ABI and init code of `<directory>/<name>.vy`, compiled once per process.
    Imports resolve in `directory`, then in our contracts folder."""
    from vyper.compiler import compile_code
    from vyper.compiler.input_bundle import FilesystemInputBundle
    from vyper.compiler.settings import Settings

    path = Path(directory) / f"{name}.vy"
    out = compile_code(
        path.read_text(),
        contract_path=path,
        input_bundle=FilesystemInputBundle([Path(directory), CONTRACTS_DIR]),
        settings=Settings(evm_version=EVM_VERSION),
        output_formats=["abi", "bytecode"],
    )
    return Compiled(abi=out["abi"], bytecode=out["bytecode"])


def deploy(w3: Any, name: str, *args: Any, sender: str | None = None, directory: Path = CONTRACTS_DIR) -> Any:
    """Deploy `<directory>/<name>.vy` with constructor `args`; returns the web3 contract."""
    compiled = compile_contract(name, directory)
    factory = w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    tx_hash = factory.constructor(*args).transact({"from": sender or w3.eth.accounts[0]})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt.status == 1, f"deploying {name} failed"
    return w3.eth.contract(address=receipt.contractAddress, abi=compiled.abi)


def at(w3: Any, name: str, address: str) -> Any:
    """The web3 contract `name` already deployed at `address`."""
    return w3.eth.contract(address=address, abi=compile_contract(name).abi)


class RootChain(NamedTuple):
    framework: Any
    eth_vault: Any
    erc20_vault: Any
    exit_game: Any
    authority: str


def _transact(w3: Any, call: Any, sender: str) -> None:
    receipt = w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}))
    assert receipt.status == 1


def deploy_plasma(
    w3: Any,
    *,
    min_exit_period_s: int = MIN_EXIT_PERIOD_S_DEFAULT,
    standard_exit_bond_wei: int = STANDARD_EXIT_BOND_WEI_DEFAULT,
    authority: str | None = None,
) -> RootChain:
    """Deploy and wire the root chain: framework, ETH and ERC20 vaults, payment exit game."""
    authority = authority or w3.eth.accounts[0]
    framework = deploy(w3, "PlasmaFramework", min_exit_period_s, sender=authority)
    eth_vault = deploy(w3, "EthVault", framework.address, sender=authority)
    erc20_vault = deploy(w3, "Erc20Vault", framework.address, sender=authority)
    exit_game = deploy(
        w3, "PaymentExitGame", framework.address, ETH_VAULT_ID, ERC20_VAULT_ID, standard_exit_bond_wei, sender=authority
    )
    _transact(w3, framework.functions.registerVault(ETH_VAULT_ID, eth_vault.address), authority)
    _transact(w3, framework.functions.registerVault(ERC20_VAULT_ID, erc20_vault.address), authority)
    _transact(w3, framework.functions.registerExitGame(PAYMENT_TX_TYPE, exit_game.address, PROTOCOL_MORE_VP), authority)
    _transact(w3, framework.functions.addExitQueue(ETH_VAULT_ID, ETH_TOKEN), authority)
    return RootChain(framework, eth_vault, erc20_vault, exit_game, authority)
