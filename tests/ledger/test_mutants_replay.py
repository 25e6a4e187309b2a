"""The audit's value table: edges that mutation testing found unchecked (docs/mutation.md)."""
from __future__ import annotations

from ledger import events
from ledger.events import ExitProcessed, ExitStarted, Payment
from ledger.replay import _value
from ledger.state import State
from proofs.payment import decode_utxo_pos, deposit_tx, encode, encode_utxo_pos
from tests.conftest import ADDRS, ETH, checked, out, signed
from tests.ledger.test_staking import OMG, staked  # noqa: F401 (staked is a fixture)

NEVER_DEPOSITED = b"\x33" * 20


def test_the_value_table_reports_every_token_and_every_place_value_sits(staked: State):
    first = staked.next_deposit_blknum
    dep_a, dep_b = encode(deposit_tx(ADDRS[0], ETH, 100)), encode(deposit_tx(ADDRS[1], ETH, 30))
    state = checked(staked, events.Deposit(first, dep_a), events.Deposit(first + 1, dep_b))
    a, b = encode_utxo_pos(first, 0, 0), encode_utxo_pos(first + 1, 0, 0)
    state = checked(state, ExitStarted(7, b, dep_b), ExitProcessed(7, True))  # 30 exited
    state = checked(state, Payment(signed([a], [out(2, 60), out(0, 39)], [0])))  # a fee of 1 in the open block
    sixty = next(pos for pos, o in state.utxos.items() if o == out(2, 60))
    state = checked(state, ExitStarted(8, sixty, _tx_of(state, sixty)))  # 60 in exit
    fake = encode(deposit_tx(ADDRS[3], NEVER_DEPOSITED, 5))
    state = checked(state, ExitStarted(9, encode_utxo_pos(first + 2, 0, 0), fake), ExitProcessed(9, True))  # 5 unbacked
    zero = dict(deposited=0, unspent=0, fees=0, in_exit=0, exited=0, unbacked=0, staked=0)
    assert _value(state) == {
        "0x" + ETH.hex(): {**zero, "deposited": 130, "unspent": 39, "fees": 1, "in_exit": 60, "exited": 30},
        "0x" + OMG.hex(): {**zero, "deposited": 4000, "unspent": 3400, "staked": 600},
        "0x" + NEVER_DEPOSITED.hex(): {**zero, "unbacked": 5},
    }


def _tx_of(state: State, pos: int) -> bytes:
    """The unsigned bytes of the open-block transaction that created `pos`."""
    _, txindex, _ = decode_utxo_pos(pos)
    return state.open_block_txs[txindex]
