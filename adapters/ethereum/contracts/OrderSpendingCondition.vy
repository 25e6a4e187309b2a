# pragma version ~=0.4.3
"""
@title OrderSpendingCondition: who may spend what, around orders (ISpendingCondition)
@notice Registered in SpendingConditionRegistry for three (output type, spending tx type) pairs:
        - (payment 1, ORDER 4): the owner places an order with it, signing the ORDER's
          EIP-712 typed data (the Order struct shown to them);
        - (order 3, payment 1): the owner cancels (or, after expiry, spends) the order, signing
          the payment as any payment;
        - (order 3, SETTLEMENT 5): the operator's settlement, with no signature: its record for
          the input repeats the terms the order output's creating transaction committed to (the
          same order id), sells no more than the output holds, at or better than the limit
          (bought * sellAmount >= sold * buyAmount), and its outputs pay the owner bought - fee
          of the buy token and, unless filled, return the rest as an order output. A settlement
          that breaks any of these spends nothing: it can neither challenge an exit nor exit.
        Reverts with the reason a spend fails; returns True otherwise.
"""
import rlp
import payment
import eip712
import order

framework: public(immutable(address))  # the EIP-712 verifying contract


@deploy
def __init__(plasmaFramework: address):
    framework = plasmaFramework


@view
@external
def verify(
    inputTx: Bytes[rlp.MAX_BYTES], utxoPos: uint256, spendingTx: Bytes[rlp.MAX_BYTES], inputIndex: uint16, witness: Bytes[65]
) -> bool:
    """Whether input `inputIndex` of `spendingTx` spends the output at `utxoPos` of `inputTx`."""
    pos: payment.Position = payment.decode_pos(utxoPos)
    input_tx: payment.Transaction = payment.decode(inputTx)
    assert pos.oindex < len(input_tx.outputs), "Output index out of range"
    output: payment.Output = input_tx.outputs[pos.oindex]
    spending: payment.Transaction = payment.decode(spendingTx)
    i: uint256 = convert(inputIndex, uint256)
    assert i < len(spending.inputs), "Input index out of range"
    assert spending.inputs[i] == convert(utxoPos, bytes32), "Spending tx points to the incorrect output UTXO position"

    if output.output_type == payment.OUTPUT_TYPE_PAYMENT and spending.tx_type == order.ORDER_TX_TYPE:
        self._check_signer(output.output_guard, order.hash_order_tx(spendingTx, spending, framework), witness)
    elif output.output_type == order.OUTPUT_TYPE_ORDER and spending.tx_type == payment.PAYMENT_TX_TYPE:
        order.output_terms(inputTx, input_tx, pos.oindex)  # only an ORDER or a SETTLEMENT creates one
        self._check_signer(output.output_guard, eip712.hash_tx(spending, framework), witness)
    elif output.output_type == order.OUTPUT_TYPE_ORDER and spending.tx_type == order.SETTLEMENT_TX_TYPE:
        self._check_settled(order.output_terms(inputTx, input_tx, pos.oindex), output.amount, spendingTx, spending, i)
    else:
        raise "Unsupported spending condition"
    return True


@pure
@internal
def _check_signer(owner: address, digest: bytes32, witness: Bytes[65]):
    signer: address = eip712.recover(digest, witness)
    assert signer != empty(address), "Failed to recover the signer from the signature"
    assert signer == owner, "Tx is not signed correctly"


@pure
@internal
def _check_settled(terms: order.Terms, amount: uint256, data: Bytes[rlp.MAX_BYTES], settlement: payment.Transaction, i: uint256):
    """Record `i` of the settlement fills the order output (`terms`, `amount` open) as its owner agreed."""
    fill: order.Fill = order.settlement_fill(data, i)
    assert order.order_id(fill.terms) == order.order_id(terms), "Settlement record is not the order's"
    assert fill.sold != 0 and fill.sold <= amount, "Settlement sells more than the order holds"
    assert fill.bought * terms.sellAmount >= fill.sold * terms.buyAmount, "Settlement breaks the order's limit"
    assert fill.fee < fill.bought, "Settlement fee takes all the proceeds"
    p: uint256 = order.proceeds_index(settlement, i)
    proceeds: payment.Output = settlement.outputs[p]
    assert self._pays(proceeds, payment.OUTPUT_TYPE_PAYMENT, terms.owner, terms.buyToken, fill.bought - fill.fee), "Settlement does not pay the owner"
    if fill.sold < amount:
        assert p + 1 < len(settlement.outputs), "Settlement does not return the remainder"
        rest: payment.Output = settlement.outputs[p + 1]
        assert self._pays(rest, order.OUTPUT_TYPE_ORDER, terms.owner, terms.sellToken, amount - fill.sold), "Settlement does not return the remainder"


@pure
@internal
def _pays(output: payment.Output, output_type: uint256, owner: address, token: address, amount: uint256) -> bool:
    return output.output_type == output_type and output.output_guard == owner and output.token == token and output.amount == amount
