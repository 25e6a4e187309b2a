# pragma version ~=0.4.3
"""
@title ORDER (tx type 4) and SETTLEMENT (tx type 5) transactions and order outputs (type 3)
@notice The DEX's extension of OMG's transaction format (proofs/order.py on the Python side):
        the payment's RLP shape, with the order's terms in txData.
        - ORDER: outputs[0] is the order output [3, [owner, sellToken, sellAmount]], change
          follows; txData = [buyToken, buyAmount, expiry, nonce].
        - SETTLEMENT: inputs are order outputs; for input i its payment output to the owner
          (bought - fee of buyToken), then, if the order is not filled, an order output with the
          remainder; txData = one record per input,
          [owner, sellToken, buyToken, sellAmount, buyAmount, expiry, nonce, sold, bought, fee].
        An order output's terms are in the transaction that created it: the ORDER's txData, or
        the settlement record of the input it is the remainder of.
"""
import rlp
import payment
import eip712

ORDER_TX_TYPE: constant(uint256) = 4
SETTLEMENT_TX_TYPE: constant(uint256) = 5
OUTPUT_TYPE_ORDER: constant(uint256) = 3
ORDER_TX_DATA_ITEMS: constant(uint256) = 4
RECORD_ITEMS: constant(uint256) = 10


struct Terms:
    owner: address
    sellToken: address
    buyToken: address
    sellAmount: uint256  # the original sell amount, as signed
    buyAmount: uint256
    expiry: uint256
    nonce: uint256


struct Fill:
    terms: Terms
    sold: uint256
    bought: uint256  # gross: the owner's payment output is bought - fee
    fee: uint256


@pure
@internal
def _tx_data(data: Bytes[rlp.MAX_BYTES]) -> rlp.Item:
    items: DynArray[rlp.Item, rlp.MAX_ITEMS] = rlp.children(data, rlp.whole(data))
    assert len(items) == payment.TX_NUM_ITEMS, "Invalid encoding of transaction"
    assert items[3].is_list, "txData must be a list"
    return items[3]


@pure
@internal
def _fields(data: Bytes[rlp.MAX_BYTES], item: rlp.Item) -> DynArray[rlp.Item, RECORD_ITEMS]:
    """The items of the list `item`, RECORD_ITEMS at most (rlp.children reads fewer)."""
    assert item.is_list, "Item is not a list"
    result: DynArray[rlp.Item, RECORD_ITEMS] = []
    offset: uint256 = item.payload
    for i: uint256 in range(RECORD_ITEMS + 1):
        if offset == item.end:
            break
        assert i < RECORD_ITEMS, "RLP: too many items in a list"
        child: rlp.Item = rlp.item_at(data, offset, item.end)
        result.append(child)
        offset = child.end
    return result


@pure
@internal
def order_terms(data: Bytes[rlp.MAX_BYTES], ptx: payment.Transaction) -> Terms:
    """The terms an ORDER transaction (`data`, decoded as `ptx`) places."""
    assert ptx.tx_type == ORDER_TX_TYPE, "Not an order transaction"
    order: payment.Output = ptx.outputs[0]
    assert order.output_type == OUTPUT_TYPE_ORDER, "Output 0 of an order transaction must be an order output"
    fields: DynArray[rlp.Item, RECORD_ITEMS] = self._fields(data, self._tx_data(data))
    assert len(fields) == ORDER_TX_DATA_ITEMS, "Order txData must have 4 items"
    return Terms(
        owner=order.output_guard,
        sellToken=order.token,
        buyToken=rlp.to_address(data, fields[0]),
        sellAmount=order.amount,
        buyAmount=rlp.to_uint(data, fields[1]),
        expiry=rlp.to_uint(data, fields[2]),
        nonce=rlp.to_uint(data, fields[3]),
    )


@pure
@internal
def settlement_fill(data: Bytes[rlp.MAX_BYTES], index: uint256) -> Fill:
    """Record `index` of a SETTLEMENT transaction's txData."""
    records: rlp.Item = self._tx_data(data)
    offset: uint256 = records.payload
    for i: uint256 in range(payment.MAX_INPUTS):
        assert offset < records.end, "Settlement record index out of range"
        record: rlp.Item = rlp.item_at(data, offset, records.end)
        if i == index:
            f: DynArray[rlp.Item, RECORD_ITEMS] = self._fields(data, record)
            assert len(f) == RECORD_ITEMS, "A settlement record must have 10 items"
            terms: Terms = Terms(
                owner=rlp.to_address(data, f[0]),
                sellToken=rlp.to_address(data, f[1]),
                buyToken=rlp.to_address(data, f[2]),
                sellAmount=rlp.to_uint(data, f[3]),
                buyAmount=rlp.to_uint(data, f[4]),
                expiry=rlp.to_uint(data, f[5]),
                nonce=rlp.to_uint(data, f[6]),
            )
            return Fill(terms=terms, sold=rlp.to_uint(data, f[7]), bought=rlp.to_uint(data, f[8]), fee=rlp.to_uint(data, f[9]))
        offset = record.end
    raise "Settlement record index out of range"


@pure
@internal
def proceeds_index(ptx: payment.Transaction, record: uint256) -> uint256:
    """The index of the payment output that pays settlement record `record`: each record has one,
    in record order, and its remainder order output (if any) follows it."""
    seen: uint256 = 0
    for i: uint256 in range(payment.MAX_OUTPUTS):
        if i == len(ptx.outputs):
            break
        if ptx.outputs[i].output_type == payment.OUTPUT_TYPE_PAYMENT:
            if seen == record:
                return i
            seen += 1
    raise "Settlement has no output for the record"


@pure
@internal
def output_terms(data: Bytes[rlp.MAX_BYTES], ptx: payment.Transaction, oindex: uint256) -> Terms:
    """The terms of order output `oindex` of the ORDER or SETTLEMENT transaction `data`."""
    assert oindex < len(ptx.outputs), "Output index out of range"
    output: payment.Output = ptx.outputs[oindex]
    assert output.output_type == OUTPUT_TYPE_ORDER, "Not an order output"
    if ptx.tx_type == ORDER_TX_TYPE:
        assert oindex == 0, "Only output 0 of an order transaction is an order"
        return self.order_terms(data, ptx)
    assert ptx.tx_type == SETTLEMENT_TX_TYPE, "Order outputs come from order or settlement transactions"
    # the remainder follows its record's payment output directly
    assert oindex > 0 and ptx.outputs[oindex - 1].output_type == payment.OUTPUT_TYPE_PAYMENT, "A remainder follows its proceeds"
    terms: Terms = self.settlement_fill(data, self._records_before(ptx, oindex - 1)).terms
    assert terms.owner == output.output_guard and terms.sellToken == output.token, "Remainder does not match its record"
    return terms


@pure
@internal
def _records_before(ptx: payment.Transaction, oindex: uint256) -> uint256:
    """How many payment outputs precede output `oindex`: the record number of a proceeds output."""
    count: uint256 = 0
    for i: uint256 in range(payment.MAX_OUTPUTS):
        if i == oindex:
            break
        if ptx.outputs[i].output_type == payment.OUTPUT_TYPE_PAYMENT:
            count += 1
    return count


# --- EIP-712 ----------------------------------------------------------------------

ORDER_TYPE_HASH: constant(bytes32) = keccak256(
    "Order(address owner,address sellToken,address buyToken,uint256 sellAmount,uint256 buyAmount,uint256 expiry,uint256 nonce)"
)


@pure
@internal
def order_id(terms: Terms) -> bytes32:
    """hashStruct(Order): the order's id, which stays its id across partial fills."""
    return keccak256(
        abi_encode(
            ORDER_TYPE_HASH, terms.owner, terms.sellToken, terms.buyToken, terms.sellAmount, terms.buyAmount,
            terms.expiry, terms.nonce,
        )
    )


# "OrderTransaction(...)" then the Input, Order and Output types, sorted by name as EIP-712 encodeType does.
ORDER_TX_TYPE_HASH: constant(bytes32) = keccak256("OrderTransaction(uint256 txType,Input input0,Input input1,Input input2,Input input3,Output output0,Output output1,Output output2,Output output3,Order order,bytes32 metadata)Input(uint256 blknum,uint256 txindex,uint256 oindex)Order(address owner,address sellToken,address buyToken,uint256 sellAmount,uint256 buyAmount,uint256 expiry,uint256 nonce)Output(uint256 outputType,bytes20 outputGuard,address currency,uint256 amount)")


@pure
@internal
def hash_order_tx(data: Bytes[rlp.MAX_BYTES], ptx: payment.Transaction, verifying_contract: address) -> bytes32:
    """The digest the input owners of an ORDER transaction sign: OMG's payment typed data with the
    order's struct in place of txData, under the same domain (proofs/order.py)."""
    inputs: bytes32[payment.MAX_INPUTS] = empty(bytes32[payment.MAX_INPUTS])
    outputs: bytes32[payment.MAX_OUTPUTS] = empty(bytes32[payment.MAX_OUTPUTS])
    for i: uint256 in range(payment.MAX_INPUTS):
        inputs[i] = eip712._hash_input(ptx.inputs[i] if i < len(ptx.inputs) else empty(bytes32))
    empty_output: payment.Output = empty(payment.Output)
    for i: uint256 in range(payment.MAX_OUTPUTS):
        outputs[i] = eip712._hash_output(ptx.outputs[i] if i < len(ptx.outputs) else empty_output)
    struct_hash: bytes32 = keccak256(
        abi_encode(
            ORDER_TX_TYPE_HASH,
            ORDER_TX_TYPE,
            inputs[0], inputs[1], inputs[2], inputs[3],
            outputs[0], outputs[1], outputs[2], outputs[3],
            self.order_id(self.order_terms(data, ptx)),
            ptx.metadata,
        )
    )
    return keccak256(concat(b"\x19\x01", eip712.domain_separator(verifying_contract), struct_hash))
