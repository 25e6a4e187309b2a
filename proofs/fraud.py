"""Fraud proofs: evidence anyone can check from transaction bytes and signatures alone.

- `InvalidExitProof`: an exiting output was spent by a transaction its owner signed;
  it is the argument of the exit game's `challengeStandardExit`.
- `DoubleSpendProof`: two different transactions, both signed by the owner, spend one
  output; it makes an in-flight exit non-canonical (`challengeInFlightExitNotCanonical`)
  and, found inside blocks, shows the operator included a double spend.

Built from the log's raw bytes by the caller; verified here without any ledger state,
exactly as the contracts verify them (EIP-712 signature of the spending transaction by
the owner of the spent output, verifying contract = the PlasmaFramework).
"""
from __future__ import annotations

import attrs

from proofs import eip712
from proofs.errors import DecodeError
from proofs.payment import Output, decode, decode_utxo_pos, encode_unsigned, unsigned_bytes


def output_at(tx_bytes: bytes, utxo_pos: int) -> Output:
    """The output `utxo_pos` names in its transaction `tx_bytes`."""
    outputs = decode(tx_bytes).outputs
    try:
        _, _, oindex = decode_utxo_pos(utxo_pos)
    except ValueError as exc:  # a position from an event is any uint256: no proof, not a crash
        raise DecodeError("invalid_proof", str(exc)) from None
    if oindex >= len(outputs):
        raise DecodeError("invalid_proof", f"output {oindex} of a {len(outputs)}-output transaction")
    return outputs[oindex]


@attrs.frozen
class Spend:
    """A signed transaction spending `utxo_pos` as its input `input_index`."""

    tx: bytes  # unsigned bytes, as the contracts take them
    input_index: int
    signature: bytes

    @classmethod
    def of(cls, signed_tx: bytes, utxo_pos: int) -> Spend:
        tx = decode(signed_tx)
        if utxo_pos not in tx.inputs:
            raise DecodeError("invalid_proof", f"the transaction does not spend {utxo_pos}")
        index = tx.inputs.index(utxo_pos)
        if index >= len(tx.signatures):
            raise DecodeError("invalid_proof", f"input {index} carries no signature")
        return cls(unsigned_bytes(signed_tx), index, tx.signatures[index])

    def signer(self, verifying_contract: bytes) -> bytes:
        return eip712.recover(eip712.signing_hash(decode(self.tx), verifying_contract), self.signature)

    def check(self, utxo_pos: int, owner: bytes, verifying_contract: bytes) -> None:
        tx = decode(self.tx)
        # The exit game decodes only the unsigned form; the signed form of the same transaction
        # would otherwise pass for a second, conflicting one.
        if encode_unsigned(tx) != self.tx:
            raise DecodeError("invalid_proof", "the spending transaction must be in its unsigned form")
        if not 0 <= self.input_index < len(tx.inputs) or tx.inputs[self.input_index] != utxo_pos:
            raise DecodeError("invalid_proof", f"input {self.input_index} is not {utxo_pos}")
        if self.signer(verifying_contract) != owner:
            raise DecodeError("invalid_proof", "the spend is not signed by the output's owner")


@attrs.frozen
class InvalidExitProof:
    """Exit `exit_id` of output `utxo_pos` (in `exiting_tx`) is invalid: `spend` spends it."""

    exit_id: int
    utxo_pos: int
    exiting_tx: bytes
    spend: Spend

    def check(self, verifying_contract: bytes) -> None:
        owner = output_at(self.exiting_tx, self.utxo_pos).owner
        self.spend.check(self.utxo_pos, owner, verifying_contract)

    def contract_args(self) -> tuple:
        """ChallengeStandardExitArgs (exitId, exitingTx, challengeTx, inputIndex, challengeTxSig), to
        which the challenger appends its senderData (keccak of its address)."""
        return (self.exit_id, self.exiting_tx, self.spend.tx, self.spend.input_index, self.spend.signature)


@attrs.frozen
class DoubleSpendProof:
    """Two different transactions spend output `utxo_pos` of `input_tx`, both signed by its owner."""

    utxo_pos: int
    input_tx: bytes
    first: Spend
    second: Spend

    def check(self, verifying_contract: bytes) -> None:
        if self.first.tx == self.second.tx:
            raise DecodeError("invalid_proof", "a transaction does not conflict with itself")
        owner = output_at(self.input_tx, self.utxo_pos).owner
        self.first.check(self.utxo_pos, owner, verifying_contract)
        self.second.check(self.utxo_pos, owner, verifying_contract)
