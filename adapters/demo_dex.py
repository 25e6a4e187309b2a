"""The trading round of `omg demo` (issue 13), played by traders through the wallet SDK
(wallet/orders.py) on the served node: ERC20 deposits; crossing orders in ETH/OMG and in the
ERC20 pair OMG/TKN, one partly filled; a cancel; an order that expires; an order left open in
a block whose root the operator withholds, exited in flight by its owner through the ORDER
exit game. The book and the trades are read back over the API and the fills checked against
the clearing rule: one price per pair, each fill at or better than its limit, each token
conserved; the batch's settlement is a transaction of its block. The open order's owner gets
exactly its funds back when the exit queues are processed (in the exits act that follows)."""
from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING

from adapters.demo_exits import game_root, refusal
from adapters.ethereum import chain, contracts
from adapters.ethereum.chain import ETHER
from proofs.order import decode_order, decode_settlement, encode_order_unsigned
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx
from wallet.account import Account
from wallet.orders import Order, Trade, Trader, book, clearing_prices, order, trades
from wallet.rootchain import InFlightData, in_flight_data

if TYPE_CHECKING:
    from adapters.demo import Served

ETH = bytes(20)
Say = Callable[[str], None]
Expect = Callable[[bool, str], None]
TKN_DEPOSIT = 1_000 * ETHER


def deploy_pair_token(w3: chain.Web3, root: contracts.RootChain, holders: list[str]) -> bytes:
    """A second ERC20 (TKN) with its exit queue, minted to the traders, for the ERC20/ERC20 pair."""
    tkn = contracts.deploy(w3, "TestERC20", "Trade token (demo)", "TKN", sender=root.authority)
    chain.send(w3, root.framework.functions.addExitQueue(contracts.ERC20_VAULT_ID, tkn.address), root.authority)
    for holder in holders:
        chain.send(w3, tkn.functions.mint(holder, TKN_DEPOSIT), root.authority)
    return bytes.fromhex(tkn.address[2:])


def dex_round(service: Served, omg: bytes, tkn: bytes, say: Say, expect: Expect) -> tuple[int, int]:
    """Returns (the in-flight exit id of the open order, its amount) for the exits act to process."""
    from adapters.demo import seal

    client, node = service.client, service.operator.node
    traders = {name: Trader(w.account) for name, w in service.wallets.items()}
    say("\n== trading round: every account deposits 1000 TKN (an ERC20) through the Erc20Vault at /eth")
    for wallet in service.wallets.values():
        wallet.root.deposit(TKN_DEPOSIT, tkn)
    service.step()
    expect(all(client.balance(w.address).get(tkn) == TKN_DEPOSIT for w in service.wallets.values()),
           "TKN deposits not followed")

    alice, bob, carol, dave = (traders[n] for n in ("alice", "bob", "carol", "dave"))
    placed = {
        "alice sells 2 ETH for at least 200 OMG": alice.place(ETH, 2 * ETHER, omg, 200 * ETHER, fee_currency=ETH)[0],
        "bob sells 400 OMG for at least 2 ETH": bob.place(omg, 400 * ETHER, ETH, 2 * ETHER, fee_currency=omg)[0],
        "carol sells 100 OMG for at least 50 TKN": carol.place(omg, 100 * ETHER, tkn, 50 * ETHER, fee_currency=omg)[0],
        "dave sells 120 TKN for at least 80 OMG": dave.place(tkn, 120 * ETHER, omg, 80 * ETHER, fee_currency=tkn)[0],
    }
    for what, oid in placed.items():
        say(f"{what:42} order.create + transaction.submit: order 0x{oid.hex()[:16]}...")
    next_blknum = node.state.next_child_blknum
    expiring = carol.place(ETH, ETHER, tkn, 10_000 * ETHER, expiry=next_blknum + 1000, fee_currency=ETH)[0]
    say(f"carol    sells 1 ETH for at least 10000 TKN, expiring at block {next_blknum + 1000} (after one batch)")
    cancelled = dave.place(tkn, 50 * ETHER, ETH, 500 * ETHER, fee_currency=tkn)[0]
    depth = {(b.base, b.quote): b for b in book(client)}
    say(f"order.book: {len(depth)} pairs, " + "; ".join(f"{len(b.asks)} ask and {len(b.bids)} bid levels"
                                                         for b in depth.values()))
    expect(len(depth) == 3, f"order.book shows {len(depth)} pairs, not ETH/OMG, OMG/TKN, ETH/TKN")
    refuse_order_spends(service, order(client, cancelled)[0], say, expect)
    dave.cancel(cancelled)
    expect(order(client, cancelled)[0].status == "cancelled", "dave's cancelled order is not cancelled")
    say("dave     cancels his order with the SDK (a payment of the order output back to him): order.get says cancelled")

    seal(service)
    check_batch(service, next_blknum, placed, {ETH: "ETH", omg: "OMG", tkn: "TKN"}, say, expect)
    expect(order(client, expiring)[0].status == "expired", "carol's order did not expire")
    carol.cancel(expiring)
    say("carol    her order reached its expiry unfilled: order.get says expired; she takes it back with the SDK")
    return open_order_exit(service, omg, say, expect)


def refuse_order_spends(service: Served, open_order: Order, say: Say, expect: Expect) -> None:
    """Restricted custody over transaction.submit: nobody else spends an open order output, and its
    owner only back to itself before expiry; an order already expired is refused; nothing stored."""
    client, node = service.client, service.operator.node
    bob, dave = service.wallets["bob"].account, service.wallets["dave"].account
    stolen = PaymentTx([open_order.utxo_pos], [Output(OUTPUT_TYPE_PAYMENT, bob.address, open_order.sell_token, open_order.amount)])
    cases = [
        ("bob spends dave's open order output", lambda: client.submit(bob.sign(stolen)), "submit:unauthorized_spend"),
        ("dave pays his open order output to bob", lambda: client.submit(dave.sign(stolen)),
         "submit:order_output_restricted"),
        ("an order expiring at the open block", lambda: Trader(bob).place(ETH, ETHER, open_order.sell_token, ETHER,
                                                                           expiry=node.state.next_child_blknum),
         "submit:order_expired"),
    ]
    before = (node.store.count, node.state)
    for what, call, code in cases:
        got = refusal(call)
        expect(got == code, f"{what}: expected {code}, got {got}")
        say(f"rejected  {what:42} -> {got}")
    expect((node.store.count, node.state) == before, "a refused spend of an order output changed the ledger")


def check_batch(service: Served, blknum: int, placed: dict[str, bytes], symbols: dict[bytes, str], say: Say,
                expect: Expect) -> None:
    """The fills of block `blknum`, read over the API, against the clearing rule and its settlement."""
    client = service.client
    fills = [t for t in trades(client) if t.blknum == blknum]
    expect({t.order_id for t in fills} == set(placed.values()), "not every crossing order was filled")
    prices = clearing_prices(client)
    for trade in fills:
        terms, _ = order(client, trade.order_id)
        at_limit = trade.bought * terms.sell_amount >= trade.sold * terms.buy_amount
        expect(at_limit and 0 < trade.sold <= terms.sell_amount, f"fill of 0x{trade.order_id.hex()} beyond its limit")
        say(f"fill     {name_of(service, trade.owner):6} sold {trade.sold / ETHER:g} {symbols[trade.sell_token]}"
            f" for {trade.bought / ETHER:g} {symbols[trade.buy_token]} (fee {trade.fee}) at {describe(trade, terms)}")
    for pair in {tuple(sorted((t.sell_token, t.buy_token))) for t in fills}:
        check_pair(pair, [t for t in fills if {t.sell_token, t.buy_token} == set(pair)], prices, expect)
    partial, _ = order(client, placed["bob sells 400 OMG for at least 2 ETH"])
    expect(partial.status == "open" and 0 < partial.amount < partial.sell_amount, "bob's order is not partly filled")
    say(f"bob's order partly filled: {partial.amount / ETHER:g} of its {partial.sell_amount / ETHER:g} OMG still open"
        " (a remainder order output of the settlement)")
    [txhash] = {t.txhash for t in fills}
    settled = client.transaction(txhash)
    records = decode_settlement(settled.txbytes).records
    expect(settled.blknum == blknum and len(records) == len(fills), "the settlement is not a transaction of its block")
    expect(sorted((r.sold, r.bought, r.fee) for r in records) == sorted((t.sold, t.bought, t.fee) for t in fills),
           "the settlement's records differ from the trades")
    rates = service.client.call("fees.trading")
    expect(rates == [] and all(t.fee == 0 for t in fills), "a trading fee was charged that nobody voted")
    say(f"the settlement is transaction {settled.txindex} of block {blknum} (tx type 5, {len(records)} fill records);"
        " fees.trading lists no voted rate (this ledger has no validators), so no trading fee was taken")


def check_pair(pair: tuple[bytes, bytes], fills: list[Trade], prices: dict, expect: Expect) -> None:
    """One price for the pair, the last clearing price; each token conserved among the fills."""
    expect(len({t.price for t in fills}) == 1, "more than one price in a pair")
    expect(prices[pair][0] == fills[0].price, "clearing.prices differs from the fills' price")
    for token in pair:
        sold = sum(t.sold for t in fills if t.sell_token == token)
        bought = sum(t.bought for t in fills if t.buy_token == token)
        expect(sold == bought, f"token 0x{token.hex()} not conserved: {sold} sold, {bought} bought")


def order_in_flight_data(account: Account, signed: bytes) -> InFlightData:
    """`startInFlightExit`'s data for a signed ORDER transaction. `in_flight_exit.get_data` decodes
    payments only, so the input transactions and their proofs come from asking it about a payment
    (signed, never submitted) over the same inputs; the ORDER's own bytes and signatures replace it."""
    tx = decode_order(signed)
    probe = PaymentTx(list(tx.inputs), [Output(OUTPUT_TYPE_PAYMENT, account.address, tx.outputs[0].token, 1)])
    inputs = in_flight_data(account.node, account.sign(probe))
    return InFlightData(encode_order_unsigned(tx), inputs.input_txs, inputs.input_utxos_pos, inputs.input_proofs,
                        tx.signatures)


def check_payout(service: Served, exit_id: int, amount: int, before: int, omg: bytes, say: Say, expect: Expect) -> None:
    """After the exits act processed the queues: alice got exactly her open order's funds."""
    alice = service.wallets["alice"]
    token = contracts.at(service.eth, "TestERC20", chain.Web3.to_checksum_address(omg))
    got = token.functions.balanceOf(alice.root.address).call() - before
    expect((True, 0) in service.operator.node.state.exits[exit_id].withdrawn, "alice's order output was not paid")
    expect(got == amount, f"alice got {got} OMG base units from her order's exit, not {amount}")
    say(f"alice    received exactly {got} OMG base units on the root chain: her open order's funds")


def omg_held(service: Served, omg: bytes) -> int:
    token = contracts.at(service.eth, "TestERC20", chain.Web3.to_checksum_address(omg))
    return token.functions.balanceOf(service.wallets["alice"].root.address).call()


def describe(trade: Trade, terms: Order) -> str:
    """The fill's price and the order's limit, both in quote units per base unit (base < quote bytewise)."""
    if trade.sell_token < trade.buy_token:  # sells base: a floor
        return f"{float(trade.price):g}, limit >= {float(Fraction(terms.buy_amount, terms.sell_amount)):g}"
    return f"{float(trade.price):g}, limit <= {float(Fraction(terms.sell_amount, terms.buy_amount)):g}"


def name_of(service: Served, address: bytes) -> str:
    return next(name for name, w in service.wallets.items() if w.address == address)


def open_order_exit(service: Served, omg: bytes, say: Say, expect: Expect) -> tuple[int, int]:
    """Alice's order stays open in a block the operator seals but withholds (its root not
    submitted); she exits it in flight by the ORDER exit game and piggybacks the order output."""
    from adapters.demo import DemoFailed

    client, node = service.client, service.operator.node
    alice = service.wallets["alice"]
    amount = 300 * ETHER
    oid, where = Trader(alice.account).place(omg, amount, ETH, 1_000 * ETHER, fee_currency=omg)
    step = service.api.step(lambda: service.operator.step(submit=False))
    expect(where.blknum in node.state.blocks and service.client.status().last_mined_child_block_number < where.blknum,
           "the operator published the block it withholds")
    say(f"\nalice    sells {amount // ETHER} OMG for at least 1000 ETH (far from the market); the operator seals block"
        f" {where.blknum} with it ({len(step.sealed)} events) and WITHHOLDS it: its root is not submitted")
    data = order_in_flight_data(alice.account, client.transaction(where.txhash).txbytes)
    game = game_root(alice.root, contracts.ORDER_TX_TYPE)
    exit_id = game.start_in_flight_exit(data)
    game.piggyback_output(data.in_flight_tx, 0)
    service.step()
    record = node.state.exits.get(exit_id)
    if record is None or (True, 0) not in record.piggybacked:
        raise DemoFailed("the ledger did not follow alice's in-flight exit of her order")
    expect(order(client, oid)[0].status == "exited", "alice's exiting order is still open")
    expect(oid not in {o.order_id for o in Trader(alice.account).open_orders()}, "order.all still lists the exiting order")
    say(f"alice    exits her open order in flight (ORDER exit game, exit {exit_id}) and piggybacks the order output:"
        " order.get says exited, order.all no longer lists it")
    return exit_id, amount
