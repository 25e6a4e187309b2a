"""Root-chain attackers: one `RootAttacker` per seed, striking the contracts where issue 11
closed a hole. A seed fails if the contract accepts one of these moves or an honest user loses
funds (the run's final checks: honest payouts, and the vaults' reconciliation
deposited - exited - unbacked + unclaimed, which the refused payout must keep true).

- front-run: copy a pending standard-exit challenge (the watcher's calldata, its senderData
  included) under the attacker's own account; the exit game must refuse (Incorrect senderData),
  and the watcher's own challenge must still win the bond.
- rogue exit game: the authority registers a hostile exit game and tries to drain the ETH vault
  inside the quarantine; the vault must refuse while honest users carry on and exit.
- deposit grief: a bounded flood of 1-wei deposits; honest deposits must still be credited.
- refused payout: a contract wallet (whose receive the 2300-gas stipend cannot pay) deposits and
  exits; processing must pay the others, the vault keeps its payout as unclaimed.

Kept apart from `actors.py`: the attacker draws only from its own generator, forked after the
rest of the cast, so the other actors' draws stay as they were.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from eth_tester.exceptions import TransactionFailed
from web3.exceptions import ContractLogicError

from adapters.ethereum import chain, contracts
from adapters.simulator.world import ETH, ETHER, Account, Action, World
from ledger.state import CHILD_BLOCK_INTERVAL
from proofs import merkle
from proofs.fraud import InvalidExitProof, Spend
from proofs.keccak import keccak256
from proofs.payment import BLOCK_OFFSET, deposit_tx, encode, encode_utxo_pos

CONTRACTS = Path(__file__).parent / "contracts"
ROGUE_TX_TYPE = 2  # a transaction type no exit game of the deployment uses
GRIEF_DEPOSITS = 4  # 1-wei deposits per griefing step: bounded, to keep a seed cheap
GRIEF_STEPS = 3
WALLET_DEPOSIT = ETHER // 100


def revert_reason(call: Any, sender: str) -> str | None:
    """Why `call` from `sender` would revert now (its message), or None if it would not."""
    try:
        call.call({"from": sender})
    except (ContractLogicError, TransactionFailed) as exc:
        return str(exc)
    return None


class RootAttacker:
    name = "root attacker"

    def __init__(self, world: World, rng: random.Random, steps: int, account: Account) -> None:
        self.account = account
        world.fund(account, omg=0)
        self.fronted: dict[int, int] = {}  # exit id -> step its challenge was front-run
        self.fronted_pos: set[int] = set()  # their outputs: not looked at again
        self.checked = False
        self.rogue_at = rng.randint(steps // 6, max(steps // 6, steps // 2))
        self.rogue: Any = None  # the hostile exit game, once registered
        self.drains = 0
        self.grief_from = rng.randint(1, max(1, steps // 2))
        self.wallet_at = rng.randint(1, max(1, steps // 4))
        self.wallet: Any = None
        self.wallet_phase = "idle"  # -> deposited -> exiting

    def step(self, world: World, rng: random.Random) -> list[Action]:
        if world.settling:
            if self.wallet_phase == "exiting":
                self.kept(world)  # the queues are processed while settling
            return self.check_bonds(world)
        return (self.front_run(world) + self.rogue_exit_game(world) + self.deposit_grief(world)
                + self.refusing_receiver(world))

    # --- (a) front-running a standard-exit challenge -------------------------------------

    def front_run(self, world: World) -> list[Action]:
        """Exits on the chain the log shows spent, not yet challenged: copy the challenge the watcher
        is about to send, its senderData (keccak of the watcher's address) included."""
        game = world.root.exit_game.functions
        index = world.index()
        found = []
        for user in world.malicious.values():
            for pos in sorted(user.exited - self.fronted_pos):
                spent = index.spends.get(pos)
                if spent is None:
                    continue
                try:
                    exiting_tx, _ = index.exit_data(pos)
                except KeyError:
                    continue
                deposit = pos // BLOCK_OFFSET % CHILD_BLOCK_INTERVAL != 0
                exit_id = game.getStandardExitId(deposit, exiting_tx, pos).call()
                if exit_id in self.fronted or not game.standardExits([exit_id]).call()[0][0]:
                    continue
                found.append(InvalidExitProof(exit_id, pos, exiting_tx, Spend.of(spent.signed_tx, pos)))
        if not found:
            return []
        proof = found[0]
        self.fronted[proof.exit_id] = world.step
        self.fronted_pos.add(proof.utxo_pos)
        return [Action(self.name, f"front-run of the challenge of exit {proof.exit_id}",
                       lambda w: self.copy_challenge(w, proof))]

    def copy_challenge(self, world: World, proof: InvalidExitProof) -> None:
        watcher_data = keccak256(world.watcher_account.address)
        call = world.root.exit_game.functions.challengeStandardExit((*proof.contract_args(), watcher_data))
        reason = revert_reason(call, self.account.checksum)
        if reason is None:
            chain.send(world.w3, call, self.account.checksum)
            world.fail(f"{self.name} front-ran the watcher's challenge of exit {proof.exit_id} and took its bond")
        elif "Incorrect senderData" not in reason:
            world.fail(f"{self.name}: front-run challenge refused for another reason: {reason[:120]}")
        else:
            world.note(f"{self.name}: front-run of the challenge of exit {proof.exit_id} refused: {reason[:60]}")

    def check_bonds(self, world: World) -> list[Action]:
        """Once settling: every exit whose challenge was front-run was challenged by the watcher."""
        if self.checked:
            return []
        self.checked = True
        challenged = {exit_id for (_, exit_id), done in world.exit_reports.items() if done}
        game = world.root.exit_game.functions
        for exit_id in sorted(self.fronted):
            if exit_id not in challenged and game.standardExits([exit_id]).call()[0][0]:
                world.fail(f"exit {exit_id} whose challenge was front-run was never challenged by the watcher")
        return []

    # --- (b) a hostile exit game inside its quarantine ---------------------------------------

    def rogue_exit_game(self, world: World) -> list[Action]:
        if world.step < self.rogue_at or self.drains >= 2:
            return []
        if self.rogue is None:
            return [Action("rogue operator", "register a hostile exit game", self.register, root=True)]
        self.drains += 1
        return [Action("rogue operator", "drain the ETH vault through its quarantined exit game", self.drain)]

    def register(self, world: World) -> None:
        rogue = contracts.deploy(world.w3, "RogueExitGame", sender=world.root.authority, directory=CONTRACTS)
        chain.send(world.w3, world.root.framework.functions.registerExitGame(ROGUE_TX_TYPE, rogue.address, 2),
                   world.root.authority)
        self.rogue = rogue

    def drain(self, world: World) -> None:
        loot = world.client.vault_balance(ETH)
        call = self.rogue.functions.drain(world.root.eth_vault.address, world.root.authority, loot)
        reason = revert_reason(call, world.root.authority)
        if reason is None:
            chain.send(world.w3, call, world.root.authority)
            world.fail(f"the rogue operator drained {loot} wei through an exit game still in quarantine")
        elif "quarantined" not in reason:
            world.fail(f"rogue operator: drain refused for another reason: {reason[:120]}")
        else:
            world.note(f"rogue operator: drain of {loot} wei refused: {reason[:80]}")

    # --- (c) deposit griefing ------------------------------------------------------------------

    def deposit_grief(self, world: World) -> list[Action]:
        if not self.grief_from <= world.step < self.grief_from + GRIEF_STEPS:
            return []
        return [Action(self.name, f"{GRIEF_DEPOSITS} deposits of 1 wei", self.grief, root=True)]

    def grief(self, world: World) -> None:
        for _ in range(GRIEF_DEPOSITS):
            world.client.deposit(self.account.checksum, ETH, 1)

    # --- (d) a receiver that refuses its payout ------------------------------------------------

    def refusing_receiver(self, world: World) -> list[Action]:
        if self.wallet_phase == "idle" and world.step >= self.wallet_at:
            return [Action(self.name, "contract wallet deposits", self.wallet_deposit, root=True)]
        if self.wallet_phase == "deposited" and self.wallet_output(world) is not None:
            return [Action(self.name, "contract wallet exits its deposit", self.wallet_exit, root=True)]
        if self.wallet_phase == "exiting":
            self.kept(world)
        return []

    def kept(self, world: World) -> None:
        """Note when the vault has kept the wallet's payout and the ledger counts it as unclaimed
        (the final reconciliation fails the seed if the two differ)."""
        kept = world.root.eth_vault.functions.unclaimed(self.wallet.address).call()
        counted = world.state.unclaimed.get((bytes.fromhex(self.wallet.address[2:]), ETH), 0)
        if kept and counted == kept:
            world.note(f"{self.name}: the vault kept the wallet's refused payout of {kept} wei; the ledger counts it")
            self.wallet_phase = "kept"

    def wallet_tx(self) -> bytes:
        return encode(deposit_tx(bytes.fromhex(self.wallet.address[2:]), ETH, WALLET_DEPOSIT))

    def wallet_deposit(self, world: World) -> None:
        if self.wallet is None:
            self.wallet = contracts.deploy(world.w3, "ContractWallet", sender=self.account.checksum,
                                           directory=CONTRACTS)
        vault = world.root.eth_vault
        call = self.wallet.functions.execute(vault.address, vault.encode_abi("deposit", [self.wallet_tx()]),
                                             WALLET_DEPOSIT)
        chain.send(world.w3, call, self.account.checksum, value=WALLET_DEPOSIT)
        self.wallet_phase = "deposited"

    def wallet_output(self, world: World) -> int | None:
        """The position of the wallet's deposit, once the ledger credited it."""
        raw = self.wallet_tx()
        for blknum, block in sorted(world.state.blocks.items()):
            if blknum % CHILD_BLOCK_INTERVAL and block.root == merkle.root([raw]):
                return encode_utxo_pos(blknum, 0, 0)
        return None

    def wallet_exit(self, world: World) -> None:
        pos, raw = self.wallet_output(world), self.wallet_tx()
        game = world.root.exit_game
        bond = game.functions.startStandardExitBondSize().call()
        start = game.encode_abi("startStandardExit", [(pos, raw, merkle.proof([raw], 0))])
        chain.send(world.w3, self.wallet.functions.execute(game.address, start, bond), self.account.checksum,
                   value=bond)
        self.wallet_phase = "exiting"
