"""The search's steps on the child chain: genesis, deposits, payments (honest, flawed,
merges, damaged bytes), fee collection and seals."""
from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from ledger.events import BlockSealed, Deposit, FeeCollected, FeeRule, Genesis, Payment, StakingOpened
from ledger.state import GENESIS_STATE
from proofs import eip712, payment
from proofs.keccak import keccak256
from specs.actors import (
    ADDRESSES,
    CONTRACT,
    KEYS,
    NULL_SIGNATURE,
    SECP256K1_N,
    SEPARATOR,
    TOKENS,
    Draft,
    deposit_bytes,
    key_of,
    malleated,
    nested_lists,
    sign,
    unsigned_deposit,
)
from specs.commands import CollectFee, DepositIntent, GarbagePayment, OpenStaking, PaymentIntent, SealBlock
from specs.model import Model
from specs.naive import ABSENT, Out, naive_root, position, totals
from specs.strategies import (
    AMOUNT,
    BOND_FLAWS,
    DAMAGES,
    DEPOSIT_FLAWS,
    FEE_SCHEDULE,
    KEY,
    SEAL_FLAWS,
    SIGNATURE,
    STAKING_PARAMS,
    STRUCTURAL,
    TOKEN,
    mostly,
)


class PlasmaSteps:
    """`LedgerMachine`'s child-chain rules (a mixin: `submit` and the state are the machine's)."""

    @initialize(schedule=FEE_SCHEDULE, data=st.data())
    def genesis(self, schedule: tuple[FeeRule, ...], data: st.DataObject | None = None) -> None:
        """Genesis and a few deposits; in about half the runs, staking opened and a few
        validators bonded too."""
        event = Genesis(CONTRACT, schedule)
        after = type(self).apply_event(GENESIS_STATE, event)
        assert self.hook(0, GENESIS_STATE, event, after) is None
        self.state = after
        self.model = Model({(r.tx_type, r.token): r.amount for r in schedule}, CONTRACT)
        if data is None:
            return
        for owner, token, amount in data.draw(st.lists(st.tuples(KEY, TOKEN, AMOUNT), max_size=4), label="deposits"):
            self.deposit(owner, token, amount)
        if data.draw(st.booleans(), label="staking"):
            self._open_with_validators(data)

    def _open_with_validators(self, data: st.DataObject) -> None:
        """Staking opens; one to four validators each deposit the staking token and the other
        (to pay fees in) and bond, mostly honestly; one may be offline from the start."""
        values = data.draw(STAKING_PARAMS)
        self.submit(OpenStaking(values), StakingOpened(*values))
        token = values[0]
        validators = st.lists(KEY, min_size=3, max_size=4, unique=True) | st.lists(KEY, min_size=1, max_size=4, unique=True)
        for k in data.draw(validators, label="validators"):
            for deposit_token in sorted(TOKENS, key=lambda t: t != token):  # the staking token, and one to pay fees in
                self._deposit(self._root_chain_deposit(), ((ADDRESSES[k], deposit_token, data.draw(st.integers(20, 10**6))),))
            self._bond(data, k, mostly(data, ["none"], st.sampled_from(BOND_FLAWS)), every_output=True)
        self.offline = {ADDRESSES[k] for k in data.draw(st.sets(KEY, max_size=1), label="offline")}

    def _root_chain_deposit(self) -> int:
        """The number the root chain gives a deposit: after the newest block it may hold."""
        return max(self.model.deposit_numbers(), default=self.model.next_deposit())

    @rule(owner=KEY, token=TOKEN, amount=AMOUNT)
    def deposit(self, owner: int, token: bytes, amount: int) -> None:
        self._deposit(self._root_chain_deposit(), ((ADDRESSES[owner], token, amount),))

    @rule(data=st.data(), owner=KEY, token=TOKEN, amount=AMOUNT)
    def bad_deposit(self, data: st.DataObject, owner: int, token: bytes, amount: int) -> None:
        blknum, outputs = self.model.next_deposit(), [(ADDRESSES[owner], token, amount)]
        flaw = data.draw(st.sampled_from(DEPOSIT_FLAWS))
        if flaw in ("empty_signature_list", "signed"):
            signatures = [] if flaw == "empty_signature_list" else [sign(bytes(32), owner)]
            self._deposit(blknum, tuple(outputs), signatures)
            return
        if flaw == "blknum":
            near = st.sampled_from([blknum - 1, blknum + 1, self.model.submitted + 1])
            blknum = data.draw(st.integers(0, self.model.open_child() + 2000) | near)
        elif flaw == "zero_amount":
            outputs = [(ADDRESSES[owner], token, 0)]
        elif flaw == "two_outputs":
            outputs *= 2
        else:
            outputs = []
        self._deposit(max(blknum, 0), tuple(outputs))

    def _deposit(self, blknum: int, outputs: tuple[Out, ...], signatures: list[bytes] | None = None) -> None:
        """A deposit event; `signatures` (even an empty list) puts it in the signed form."""
        raw = deposit_bytes(outputs, signatures)
        intent = DepositIntent(blknum, outputs, unsigned_deposit(outputs), signed=signatures is not None)
        self.submit(intent, Deposit(blknum, raw))

    # -- payments ------------------------------------------------------------------------

    @precondition(lambda self: self.model.utxos)
    @rule(data=st.data())
    def pay(self, data: st.DataObject) -> None:
        if draft := self._honest_draft(data):
            self._pay(data, draft, ())

    @precondition(lambda self: self.model.utxos)
    @rule(data=st.data())
    def pay_byzantine(self, data: st.DataObject) -> None:
        draft = self._honest_draft(data)
        if draft is None:
            return
        flaws = data.draw(st.lists(st.sampled_from(STRUCTURAL + SIGNATURE), min_size=1, max_size=2))
        for flaw in flaws:
            if flaw in STRUCTURAL:
                self._mutate(data, draft, flaw)
        self._pay(data, draft, [f for f in flaws if f in SIGNATURE])

    @precondition(lambda self: self.model.utxos)
    @rule(data=st.data())
    def merge(self, data: st.DataObject) -> None:
        """One owner folds 2-4 outputs of one token into one, fee-free (elixir-omg's merge rule)."""
        groups: dict[tuple[bytes, bytes], list[int]] = {}
        for pos, (owner, token, _) in sorted(self.model.utxos.items()):
            groups.setdefault((owner, token), []).append(pos)
        mergeable = sorted(group for group in groups.values() if len(group) > 1)
        if not mergeable:
            return
        group = data.draw(st.sampled_from(mergeable))
        inputs = data.draw(st.lists(st.sampled_from(group), min_size=2, max_size=4, unique=True))
        owner, token, _ = self.model.utxos[inputs[0]]
        total = sum(self.model.utxos[pos][2] for pos in inputs)
        self._pay(data, Draft(inputs, [(owner, token, total)], [key_of(owner)] * len(inputs)), ())

    @precondition(lambda self: self.accepted)
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """Any accepted event again: a payment, a seal, a root-chain fact, a commit, a vote..."""
        intent, event = data.draw(st.sampled_from(self.accepted))
        self.submit(intent, event)

    @precondition(lambda self: self.model.utxos)
    @rule(data=st.data())
    def damaged_bytes(self, data: st.DataObject) -> None:
        draft = self._honest_draft(data)
        if draft is None:
            return
        raw = self._signed(draft)[0]
        damage = data.draw(st.sampled_from(DAMAGES))
        if damage == "deep_nesting":
            raw, codes = nested_lists(data.draw(st.integers(900, 1500))), None
        elif damage == "truncate":
            cut = data.draw(st.integers(0, len(raw) - 1))
            raw, codes = raw[:cut], frozenset({"malformed_transaction_rlp", "malformed_transaction"})
        elif damage == "append":
            raw, codes = raw + data.draw(st.binary(min_size=1, max_size=8)), frozenset({"malformed_transaction_rlp"})
        else:
            at, mask = data.draw(st.integers(0, len(raw) - 1)), data.draw(st.integers(1, 255))
            raw, codes = raw[:at] + bytes([raw[at] ^ mask]) + raw[at + 1 :], None
        self.submit(GarbagePayment(raw, codes), Payment(raw))

    def _honest_draft(self, data: st.DataObject, owner: bytes | None = None) -> Draft | None:
        """1-4 unspent inputs (of `owner`, if given) split into 1-4 outputs across keys, paying
        the scheduled fee if it can (None when the fee would take everything)."""
        choices = sorted(pos for pos, out in self.model.utxos.items() if owner in (None, out[0]))
        if not choices:
            return None
        inputs = data.draw(st.lists(st.sampled_from(choices), min_size=1, max_size=4, unique=True))
        remainder = self._after_fee(data, totals([self.model.utxos[pos] for pos in inputs]))
        if not remainder:
            return None
        outputs: list[Out] = []
        for i, (token, amount) in enumerate(sorted(remainder.items())):
            slots = 4 - len(outputs) - (len(remainder) - i - 1)
            outputs += [(ADDRESSES[data.draw(KEY)], token, piece) for piece in self._split(data, amount, slots)]
        return Draft(inputs, outputs, [key_of(self.model.utxos[pos][0]) for pos in inputs])

    def _after_fee(self, data: st.DataObject, remainder: dict[bytes, int]) -> dict[bytes, int]:
        """What is left of the inputs' `remainder` once the scheduled fee is paid (or, with no
        schedule, any fee); when the schedule cannot be met, nothing is paid and the model
        expects a rejection."""
        if self.model.fee_schedule:
            payable = [t for t in sorted(remainder) if (self.model.payment_fee(t) or 2**512) <= remainder[t]]
            if payable:
                fee_token = data.draw(st.sampled_from(payable))
                remainder[fee_token] -= self.model.payment_fee(fee_token) or 0
        else:
            fee_token = data.draw(st.sampled_from(sorted(remainder)))
            keep = 1 if len(remainder) == 1 else 0  # leave something to pay out
            remainder[fee_token] -= data.draw(st.integers(0, remainder[fee_token] - keep))
        return {token: amount for token, amount in remainder.items() if amount}

    @staticmethod
    def _split(data: st.DataObject, amount: int, slots: int) -> list[int]:
        pieces = data.draw(st.integers(1, min(amount, slots)))
        cuts = st.lists(st.integers(1, amount - 1), min_size=pieces - 1, max_size=pieces - 1, unique=True)
        bounds = [0, *sorted(data.draw(cuts) if pieces > 1 else []), amount]
        return [high - low for low, high in zip(bounds, bounds[1:])]

    def _mutate(self, data: st.DataObject, d: Draft, flaw: str) -> None:
        """A structural flaw: what the transaction spends or creates."""
        i = data.draw(st.integers(0, max(len(d.inputs) - 1, 0)))
        o = data.draw(st.integers(0, max(len(d.outputs) - 1, 0)))
        gone = sorted(pos for pos in (self.model.spent if flaw == "spent_input" else self.model.exiting)
                      if pos in self.outputs_ever)
        if flaw == "dup_input" and d.inputs:
            d.inputs.append(d.inputs[i])
            d.keys.append(d.keys[i])
        elif flaw in ("unknown_input", "fifth_input") and d.inputs:
            blocks_ahead, txindex = data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))
            unknown = position(self.model.open_child() + 1000 * blocks_ahead, txindex, 1)
            if flaw == "unknown_input":
                d.inputs[i] = unknown
            else:
                d.inputs += [unknown] * (5 - len(d.inputs))
                d.keys += [d.keys[0]] * (5 - len(d.keys))
        elif flaw in ("spent_input", "exiting_input") and d.inputs and gone:
            d.inputs[i] = data.draw(st.sampled_from(gone))
            d.keys[i] = key_of(self.outputs_ever[d.inputs[i]][0])
        elif flaw == "add_input":
            extra = data.draw(st.sampled_from(sorted(self.model.utxos)))
            d.inputs.append(extra)
            d.keys.append(key_of(self.model.utxos[extra][0]))
        elif flaw == "no_inputs":
            d.inputs, d.keys = [], []
        elif flaw in ("bump_output", "shrink_output", "zero_output") and d.outputs:
            owner, token, amount = d.outputs[o]
            delta = data.draw(st.integers(1, 3))
            new = {"bump_output": amount + delta, "shrink_output": max(amount - delta, 1), "zero_output": 0}[flaw]
            d.outputs[o] = (owner, token, new)
        elif flaw == "zero_owner" and d.outputs:
            d.outputs[o] = (bytes(20), *d.outputs[o][1:])
        elif flaw == "extra_output":
            d.outputs.append((ADDRESSES[data.draw(KEY)], data.draw(TOKEN), data.draw(st.integers(1, 3))))
        elif flaw == "no_outputs":
            d.outputs = []

    def _signed(self, d: Draft) -> tuple[bytes, list[bytes], list[bytes | None], bytes]:
        """(raw bytes, signatures, signer per slot, digest) of the honestly signed draft."""
        tx = d.tx()
        digest = eip712.signing_hash_with_separator(tx, SEPARATOR)
        signatures = [sign(digest, key) for key in d.keys]
        return payment.encode(tx.with_signatures(tuple(signatures))), signatures, [ADDRESSES[k] for k in d.keys], digest

    def _forged(self, data: st.DataObject, d: Draft, flaws: list[str] | tuple[str, ...]) -> tuple[bytes, PaymentIntent]:
        """The draft's signed bytes with signature `flaws`, and what they mean."""
        _, signatures, signers, digest = self._signed(d)
        for flaw in flaws:
            self._forge(data, flaw, signatures, signers, digest)
        raw = payment.encode(d.tx().with_signatures(tuple(signatures)))
        return raw, PaymentIntent(tuple(d.inputs), tuple(d.outputs), tuple(signers), payment.encode_unsigned(d.tx()))

    def _pay(self, data: st.DataObject, d: Draft, flaws: list[str] | tuple[str, ...]) -> None:
        raw, intent = self._forged(data, d, flaws)
        self.submit(intent, Payment(raw))

    @staticmethod
    def _forge(data: st.DataObject, flaw: str, sigs: list[bytes], signers: list[bytes | None], digest: bytes) -> None:
        """A signature flaw: who signed, what they signed, how many signatures there are."""
        i = data.draw(st.integers(0, max(len(sigs) - 1, 0)))
        if flaw == "wrong_key" and sigs:
            own = ADDRESSES.index(signers[i]) if signers[i] else 0
            key = (own + data.draw(st.integers(1, len(KEYS) - 1))) % len(KEYS)
            sigs[i], signers[i] = sign(digest, key), ADDRESSES[key]
        elif flaw == "garbage_sig" and sigs:
            sigs[i] = data.draw(st.binary(min_size=65, max_size=65))
            signers[i] = ABSENT if sigs[i] == NULL_SIGNATURE else None
        elif flaw == "malleable_sig" and sigs and int.from_bytes(sigs[i][32:64], "big") <= SECP256K1_N // 2:
            sigs[i], signers[i] = malleated(sigs[i]), None  # same signer, but the root chain refuses high s
        elif flaw == "other_tx_sig" and sigs:
            sigs[i], signers[i] = sign(keccak256(digest), data.draw(KEY)), None
        elif flaw == "drop_sig" and sigs:
            del sigs[i], signers[i]
        elif flaw == "extra_sig":
            key = data.draw(KEY)
            sigs.append(sign(digest, key))
            signers.append(ADDRESSES[key])
        elif flaw == "swap_sigs" and len(sigs) > 1:
            sigs[0], sigs[-1], signers[0], signers[-1] = sigs[-1], sigs[0], signers[-1], signers[0]
        elif flaw == "null_sig" and sigs:
            sigs[i], signers[i] = NULL_SIGNATURE, ABSENT
        elif flaw == "add_null_sig":
            sigs.insert(i, NULL_SIGNATURE)
            signers.insert(i, ABSENT)

    # -- fees and sealing ------------------------------------------------------------------

    @precondition(lambda self: self.model.open_fees)
    @rule(data=st.data())
    def collect_fee(self, data: st.DataObject) -> None:
        """Collect what the open block owes in one token (or, one time in five, less or more)."""
        token = data.draw(st.sampled_from(sorted(self.model.open_fees)))
        owed = self.model.open_fees[token]
        self._collect(self.model.open_child(), token, owed + mostly(data, [0], st.sampled_from([-1, -(owed // 2), 1])))  # type: ignore[operator]

    @rule(flaw=st.sampled_from(SEAL_FLAWS), data=st.data())
    def close_block(self, flaw: str, data: st.DataObject) -> None:
        """Collect every fee and seal (flaw "none"), or submit one flawed fee or seal event."""
        blknum, txs = self.model.open_child(), self.model.open_txs
        if flaw == "fee_amount":  # mostly a token the block owes fees in: less or more than owed
            token: bytes = mostly(data, sorted(self.model.open_fees), TOKEN)  # type: ignore[assignment]
            owed = self.model.open_fees.get(token, 0)
            return self._collect(blknum, token, max(owed + data.draw(st.sampled_from([-1, 1, -(owed // 2), 2])), 0))
        if flaw == "fee_blknum":
            token = data.draw(TOKEN)
            wrong = blknum + data.draw(st.sampled_from([-1000, 1000, 1]))
            return self._collect(wrong, token, self.model.open_fees.get(token, 1))
        if flaw == "none":
            self.settle_if_due()
            for token, amount in sorted(self.model.open_fees.items()):
                self._collect(blknum, token, amount)
        root, count = self.model.root(), len(txs)
        if flaw == "root":
            other_roots = st.sampled_from([naive_root(txs[:-1]), naive_root(txs + txs[-1:])])
            root = data.draw(st.binary(min_size=32, max_size=32) | other_roots)
        elif flaw == "count":
            count = max(count + data.draw(st.sampled_from([-1, 1])), 0)
        elif flaw == "blknum":
            blknum += data.draw(st.sampled_from([-1000, 1000, -1, 1]))
        self._seal(blknum, root, count)

    def _collect(self, blknum: int, token: bytes, amount: int) -> None:
        self.submit(CollectFee(blknum, token, amount), FeeCollected(blknum, token, amount))

    def _seal(self, blknum: int, root: bytes, count: int) -> None:
        self.submit(SealBlock(blknum, root, count), BlockSealed(blknum, root, count))
