"""What the search draws: keys, tokens, amounts, fee schedules, votes, staking parameters,
and the flaws it mutates honest commands with."""
from __future__ import annotations

from hypothesis import strategies as st

from ledger.events import FeeRule
from proofs import payment
from proofs.order import ORDER_TX_TYPE
from specs.actors import KEYS, TOKENS

KEY = st.integers(0, len(KEYS) - 1)
TOKEN = st.sampled_from(TOKENS)
AMOUNT = st.integers(1, 1000) | st.integers(1, 2**128)
FEE_SCHEDULE = st.lists(
    st.builds(FeeRule, st.sampled_from([payment.PAYMENT_TX_TYPE, 2, ORDER_TX_TYPE]), TOKEN, st.sampled_from([2, 5, 1, 3, 0])),  # 0: a free tx type
    max_size=3,
    unique_by=lambda r: (r.tx_type, r.token),
).map(tuple)
VOTE = st.lists(st.tuples(st.sampled_from([payment.PAYMENT_TX_TYPE, 2]), TOKEN, st.integers(0, 5)), max_size=3)
TRADING_VOTE = st.lists(st.tuples(TOKEN, TOKEN, st.sampled_from([0, 5, 30, 10_000, 10_001])), max_size=3)
STAKING_PARAMS = st.tuples(
    TOKEN,
    st.sampled_from([4, 2, 1, 3]),  # max validators
    st.integers(0, 2),  # unbonding blocks
    st.sampled_from([0, 500, 5000, 10_000]),  # double-sign slash
    st.sampled_from([0, 1000, 10_000]),  # reporter reward
    st.integers(1, 2),  # epoch blocks
    st.integers(1, 3),  # signed-blocks window
    st.sampled_from([5000, 10_000, 0]),  # min signed
    st.sampled_from([0, 100, 10_000]),  # downtime slash
    st.integers(0, 2),  # jail blocks
)

STRUCTURAL = ("dup_input", "unknown_input", "spent_input", "exiting_input", "add_input", "fifth_input", "no_inputs",
              "bump_output", "shrink_output", "zero_output", "zero_owner", "extra_output", "no_outputs")
SIGNATURE = ("wrong_key", "garbage_sig", "other_tx_sig", "malleable_sig", "drop_sig", "extra_sig", "swap_sigs",
             "null_sig", "add_null_sig")
SEAL_FLAWS = ("none", "none", "root", "count", "blknum", "uncollected", "fee_amount", "fee_blknum")
ORDER_FLAWS = ("none",) * 6 + ("order_input", "unlisted", "zero_buy", "expired", "overdrawn", "wrong_key", "drop_sig")
SETTLE_FLAWS = ("none", "none", "none", "blknum", "skim", "garbage")
DAMAGES = ("truncate", "append", "flip", "deep_nesting")
DEPOSIT_FLAWS = ("blknum", "zero_amount", "two_outputs", "no_outputs", "empty_signature_list", "signed")
REQUEST_FLAWS = ("none",) * 5 + ("wrong_key", "stale_nonce", "other_chain", "garbage", "malleable")
BOND_FLAWS = ("none", "none", "none", "wrong_pop", "malformed_key", "taken_key", "other_key", "not_to_pool",
              "wrong_token", "two_owners", "payment")
COMMIT_FLAWS = ("none",) * 8 + ("short", "proposer", "later_round", "garbage", "missing_signer",
                "extra_signer", "wrong_root", "bitmap_length", "bitmap_bit", "blknum")
EXIT_KINDS = ("unspent", "unspent", "spent", "exiting", "never_held", "bad_index", "out_of_range", "garbage")
IFE_KINDS = ("withheld", "included", "withheld", "included", "mismatched", "other_input_tx", "dup_input")


def mostly(data: st.DataObject, preferred: list, otherwise: st.SearchStrategy) -> object:
    """One of `preferred` four times in five (when there are any), else a draw of `otherwise`."""
    if preferred and data.draw(st.integers(0, 4)):
        return data.draw(st.sampled_from(preferred))
    return data.draw(otherwise)
