"""Compile the root-chain contracts (Vyper 0.4, `contracts/*.vy`) and deploy them with web3.

The contracts are compiled from source by vyper's Python API on first use and cached
for the life of the process; there is no bytecode checked in. `deploy_plasma` deploys
the whole root chain (framework, both vaults, the payment exit game), registers the
vaults and the exit game, and opens the ETH exit queue, as OMG's migrations do. The
framework creates each exit queue (a PriorityQueue, as plasma-contracts v1.0.4) from a
blueprint deployed first.

The payment exit game is three codes behind one address and one storage: PaymentExitGame
(standard exits) DELEGATECALLs PaymentInFlightExitGame (in-flight exits: start, piggyback)
for every function it does not define, which DELEGATECALLs PaymentInFlightExitDisputes
(challenges, processing) in turn; the web3 ABI at that address is their union (`contract_abi`).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any, NamedTuple

CONTRACTS_DIR = Path(__file__).parent / "contracts"
EVM_VERSION = "cancun"  # transient storage (nonreentrant) and MCOPY; accepted by py-evm and anvil

ETH_VAULT_ID = 1  # plasma-contracts' deployment: vault 1 holds ETH, vault 2 ERC20
ERC20_VAULT_ID = 2
PAYMENT_TX_TYPE = 1
ORDER_TX_TYPE = 4  # the DEX's (DEX.md): an order placed, and a batch's settlement
SETTLEMENT_TX_TYPE = 5
OUTPUT_TYPE_PAYMENT = 1
OUTPUT_TYPE_ORDER = 3
# (output type, spending tx type) pairs OrderSpendingCondition decides; the exit game decides (1, 1).
ORDER_SPENDING_CONDITIONS = ((OUTPUT_TYPE_PAYMENT, ORDER_TX_TYPE), (OUTPUT_TYPE_ORDER, PAYMENT_TX_TYPE),
                             (OUTPUT_TYPE_ORDER, SETTLEMENT_TX_TYPE))
PROTOCOL_MORE_VP = 2
INITIAL_IMMUNE_VAULTS = 2  # deploy_plasma's ETH and ERC20 vaults
INITIAL_IMMUNE_EXIT_GAMES = 3  # and its exit games of payments, orders and settlements
ETH_TOKEN = "0x" + "00" * 20
MIN_EXIT_PERIOD_S_DEFAULT = 7 * 24 * 3600
STANDARD_EXIT_BOND_WEI_DEFAULT = 14_000_000_000_000_000  # plasma-contracts' initial standard exit bond
IN_FLIGHT_EXIT_BOND_WEI_DEFAULT = 37_000_000_000_000_000  # its INITIAL_IFE_BOND_SIZE (v1.0.4)
PIGGYBACK_BOND_WEI_DEFAULT = 28_000_000_000_000_000  # its INITIAL_PB_BOND_SIZE (v1.0.4)
# Contracts whose address also answers for another's code, reached by DELEGATECALL.
DELEGATES = {"PaymentExitGame": "PaymentInFlightExitGame", "PaymentInFlightExitGame": "PaymentInFlightExitDisputes"}


class Compiled(NamedTuple):
    abi: list[dict[str, Any]]
    bytecode: str  # 0x-prefixed init code
    bytecode_runtime: str  # 0x-prefixed deployed code (the EIP-170 limit applies to it)
    layout: dict[str, Any]  # storage and transient storage slots
    blueprint: str  # 0x-prefixed ERC-5202 blueprint init code, for create_from_blueprint


@functools.cache
def compile_contract(name: str, directory: Path = CONTRACTS_DIR) -> Compiled:
    """ABI and code of `<directory>/<name>.vy`, compiled once per process and kept on disk
    (keyed by vyper's version and every source it may import), so a new process reuses it.
    Imports resolve in `directory`, then in our contracts folder."""
    import vyper

    path = Path(directory) / f"{name}.vy"
    sources = sorted({*Path(directory).glob("*.vy"), *CONTRACTS_DIR.glob("*.vy")})
    key = hashlib.sha256(f"{vyper.__version__} {EVM_VERSION} {path.name} {','.join(Compiled._fields)}".encode())
    for source in sources:
        key.update(source.name.encode() + b"\0" + source.read_bytes())
    cached = _cache_dir() / f"{name}-{key.hexdigest()[:32]}.json"
    if cached.exists():
        return Compiled(**json.loads(cached.read_text()))
    compiled = _compile(path, Path(directory))
    _write_atomically(cached, json.dumps(compiled._asdict()))
    return compiled


def _compile(path: Path, directory: Path) -> Compiled:
    from vyper.compiler import compile_code
    from vyper.compiler.input_bundle import FilesystemInputBundle
    from vyper.compiler.settings import Settings

    out = compile_code(
        path.read_text(),
        contract_path=path,
        input_bundle=FilesystemInputBundle([directory, CONTRACTS_DIR]),
        settings=Settings(evm_version=EVM_VERSION),
        output_formats=["abi", "bytecode", "bytecode_runtime", "layout", "blueprint_bytecode"],
    )
    return Compiled(abi=out["abi"], bytecode=out["bytecode"], bytecode_runtime=out["bytecode_runtime"],
                    layout=out["layout"], blueprint=out["blueprint_bytecode"])


def _cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "omg-ledger" / "vyper"


def _write_atomically(path: Path, text: str) -> None:
    """Concurrent test workers may compile the same contract: each writes its own file, then renames."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def contract_abi(name: str) -> list[dict[str, Any]]:
    """The ABI web3 should use at `name`'s address: its own, plus its delegates' entries."""
    abi = list(compile_contract(name).abi)
    while name in DELEGATES:
        name = DELEGATES[name]
        abi += [entry for entry in compile_contract(name).abi if entry not in abi]
    return abi


def deploy(w3: Any, name: str, *args: Any, sender: str | None = None, directory: Path = CONTRACTS_DIR) -> Any:
    """Deploy `<directory>/<name>.vy` with constructor `args`; returns the web3 contract."""
    compiled = compile_contract(name, directory)
    factory = w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    tx_hash = factory.constructor(*args).transact({"from": sender or w3.eth.accounts[0]})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt.status == 1, f"deploying {name} failed"
    abi = contract_abi(name) if directory == CONTRACTS_DIR else compiled.abi
    return w3.eth.contract(address=receipt.contractAddress, abi=abi)


def deploy_blueprint(w3: Any, name: str, sender: str | None = None) -> str:
    """Deploy `name` as an ERC-5202 blueprint (code other contracts create copies from, never
    called itself); returns its address."""
    tx = {"from": sender or w3.eth.accounts[0], "data": compile_contract(name).blueprint}
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(tx))
    assert receipt.status == 1, f"deploying the {name} blueprint failed"
    return receipt.contractAddress


def exit_queue(w3: Any, framework: Any, vault_id: int, token: str) -> Any:
    """The PriorityQueue of (vault_id, token), found as omg-js finds it: exitsQueues at
    keccak256(abi.encodePacked(vaultId, token))."""
    key = w3.solidity_keccak(["uint256", "address"], [vault_id, token])
    return at(w3, "PriorityQueue", framework.functions.exitsQueues(key).call())


def at(w3: Any, name: str, address: str) -> Any:
    """The web3 contract `name` already deployed at `address`."""
    return w3.eth.contract(address=address, abi=contract_abi(name))


class RootChain(NamedTuple):
    framework: Any
    eth_vault: Any
    erc20_vault: Any
    exit_game: Any  # PaymentExitGame, with the in-flight exit functions in its ABI
    authority: str
    in_flight_exit_code: Any = None  # PaymentInFlightExitGame: code only, never called at its own address

    def exit_game_of(self, w3: Any, tx_type: int) -> Any:
        """The exit game registered for `tx_type` (the same code for payments, orders, settlements)."""
        return at(w3, "PaymentExitGame", self.framework.functions.exitGames(tx_type).call())


def _transact(w3: Any, call: Any, sender: str) -> None:
    receipt = w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}))
    assert receipt.status == 1


def deploy_plasma(
    w3: Any,
    *,
    min_exit_period_s: int = MIN_EXIT_PERIOD_S_DEFAULT,
    standard_exit_bond_wei: int = STANDARD_EXIT_BOND_WEI_DEFAULT,
    authority: str | None = None,
    in_flight_exit_bond_wei: int = IN_FLIGHT_EXIT_BOND_WEI_DEFAULT,
    piggyback_bond_wei: int = PIGGYBACK_BOND_WEI_DEFAULT,
) -> RootChain:
    """Deploy and wire the root chain: framework, ETH and ERC20 vaults, and one exit game per tx type
    (payment, ORDER, SETTLEMENT: the same code, as v1.0.4 deploys PaymentExitGame per supportTxType)
    with the spending conditions of order outputs."""
    authority = authority or w3.eth.accounts[0]
    queue_blueprint = deploy_blueprint(w3, "PriorityQueue", sender=authority)
    # The two vaults and the three exit games registered below are the initial immune ones: no quarantine.
    framework = deploy(w3, "PlasmaFramework", min_exit_period_s, INITIAL_IMMUNE_VAULTS, INITIAL_IMMUNE_EXIT_GAMES,
                       queue_blueprint, sender=authority)
    eth_vault = deploy(w3, "EthVault", framework.address, sender=authority)
    erc20_vault = deploy(w3, "Erc20Vault", framework.address, sender=authority)
    disputes_code = deploy(w3, "PaymentInFlightExitDisputes", sender=authority)
    in_flight_exit_code = deploy(w3, "PaymentInFlightExitGame", disputes_code.address, sender=authority)
    conditions = deploy(w3, "SpendingConditionRegistry", sender=authority)
    order_condition = deploy(w3, "OrderSpendingCondition", framework.address, sender=authority)
    for output_type, spending_tx_type in ORDER_SPENDING_CONDITIONS:
        _transact(w3, conditions.functions.registerSpendingCondition(output_type, spending_tx_type, order_condition.address),
                  authority)
    _transact(w3, conditions.functions.renounceOwnership(), authority)  # no exit game's rules change later
    games = {
        tx_type: deploy(w3, "PaymentExitGame", framework.address, ETH_VAULT_ID, ERC20_VAULT_ID, standard_exit_bond_wei,
                        in_flight_exit_bond_wei, piggyback_bond_wei, in_flight_exit_code.address, tx_type,
                        conditions.address, sender=authority)
        for tx_type in (PAYMENT_TX_TYPE, ORDER_TX_TYPE, SETTLEMENT_TX_TYPE)
    }
    _transact(w3, framework.functions.registerVault(ETH_VAULT_ID, eth_vault.address), authority)
    _transact(w3, framework.functions.registerVault(ERC20_VAULT_ID, erc20_vault.address), authority)
    for tx_type, game in games.items():
        _transact(w3, framework.functions.registerExitGame(tx_type, game.address, PROTOCOL_MORE_VP), authority)
    _transact(w3, framework.functions.addExitQueue(ETH_VAULT_ID, ETH_TOKEN), authority)
    return RootChain(framework, eth_vault, erc20_vault, games[PAYMENT_TX_TYPE], authority, in_flight_exit_code)
