# pragma version ~=0.4.3
"""
@title Payment transaction v1 and UTXO positions
@notice Decodes OMG's payment transaction (tx type 1) as plasma-contracts'
        GenericTransaction + PaymentTransactionModel + FungibleTokenOutputModel do:
        RLP [txType, [input...], [[outputType, [outputGuard, token, amount]]...], txData, metadata]
        and PosLib's UTXO positions (blknum * 10^9 + txindex * 10^4 + oindex).
        The same format as proofs/payment.py on the Python side.
"""
import rlp

PAYMENT_TX_TYPE: constant(uint256) = 1
OUTPUT_TYPE_PAYMENT: constant(uint256) = 1
MAX_INPUTS: constant(uint256) = 4
MAX_OUTPUTS: constant(uint256) = 4
TX_NUM_ITEMS: constant(uint256) = 5

BLOCK_OFFSET: constant(uint256) = 1_000_000_000
TX_OFFSET: constant(uint256) = 10_000
MAX_OUTPUT_INDEX: constant(uint256) = 9_999
MAX_TX_INDEX: constant(uint256) = 65_535  # a block's Merkle tree has depth 16
# ((2**56 - 1) - MAX_TX_INDEX) // (BLOCK_OFFSET // TX_OFFSET), as PosLib
MAX_BLOCK_NUM: constant(uint256) = 720_575_940_378
CHILD_BLOCK_INTERVAL: constant(uint256) = 1000


struct Output:
    output_type: uint256
    output_guard: address  # bytes20 on the wire; the owner for payment outputs
    token: address
    amount: uint256


struct Transaction:
    tx_type: uint256
    inputs: DynArray[bytes32, MAX_INPUTS]
    outputs: DynArray[Output, MAX_OUTPUTS]
    tx_data: uint256
    metadata: bytes32


struct Position:
    blknum: uint256
    txindex: uint256
    oindex: uint256


@internal
@pure
def _output(data: Bytes[rlp.MAX_BYTES], item: rlp.Item) -> Output:
    fields: DynArray[rlp.Item, rlp.MAX_ITEMS] = rlp.children(data, item)
    assert len(fields) == 2, "Output must have 2 items"
    output_type: uint256 = rlp.to_uint(data, fields[0])
    assert output_type != 0, "Output type must not be 0"
    output_data: DynArray[rlp.Item, rlp.MAX_ITEMS] = rlp.children(data, fields[1])
    assert len(output_data) == 3, "Output data must have 3 items"
    guard: address = rlp.to_address(data, output_data[0])
    token: address = rlp.to_address(data, output_data[1])
    amount: uint256 = rlp.to_uint(data, output_data[2])
    assert amount != 0, "Output amount must not be 0"
    assert guard != empty(address), "Output outputGuard must not be 0"
    return Output(output_type=output_type, output_guard=guard, token=token, amount=amount)


@internal
@pure
def decode(data: Bytes[rlp.MAX_BYTES]) -> Transaction:
    """The unsigned transaction in `data`, of any type with the payment's shape (GenericTransaction
    and its fungible outputs); reverts on anything the contracts reject. A payment's txData is 0;
    another type's txData is left to the code of that type (order.vy)."""
    items: DynArray[rlp.Item, rlp.MAX_ITEMS] = rlp.children(data, rlp.whole(data))
    assert len(items) == TX_NUM_ITEMS, "Invalid encoding of transaction"
    tx_type: uint256 = rlp.to_uint(data, items[0])
    assert tx_type != 0, "Transaction type must not be 0"

    raw_inputs: DynArray[rlp.Item, rlp.MAX_ITEMS] = rlp.children(data, items[1])
    assert len(raw_inputs) <= MAX_INPUTS, "Transaction inputs num exceeds limit"
    inputs: DynArray[bytes32, MAX_INPUTS] = []
    for raw: rlp.Item in raw_inputs:
        value: bytes32 = rlp.to_bytes32(data, raw)
        assert value != empty(bytes32), "Null input not allowed"
        inputs.append(value)

    raw_outputs: DynArray[rlp.Item, rlp.MAX_ITEMS] = rlp.children(data, items[2])
    assert len(raw_outputs) != 0, "Transaction cannot have 0 outputs"
    assert len(raw_outputs) <= MAX_OUTPUTS, "Transaction outputs num exceeds limit"
    outputs: DynArray[Output, MAX_OUTPUTS] = []
    for raw: rlp.Item in raw_outputs:
        outputs.append(self._output(data, raw))

    tx_data: uint256 = 0
    if tx_type == PAYMENT_TX_TYPE:
        tx_data = rlp.to_uint(data, items[3])
        assert tx_data == 0, "txData must be 0"
    # Other types (order.vy's ORDER and SETTLEMENT) carry their terms in txData, read where needed.
    metadata: bytes32 = rlp.to_bytes32(data, items[4])
    return Transaction(tx_type=tx_type, inputs=inputs, outputs=outputs, tx_data=tx_data, metadata=metadata)


@internal
@pure
def decode_deposit(data: Bytes[rlp.MAX_BYTES]) -> Output:
    """The one output of a deposit transaction (shape checks the deposit verifiers share)."""
    decoded: Transaction = self.decode(data)
    assert decoded.tx_type == PAYMENT_TX_TYPE, "Invalid transaction type"
    assert len(decoded.inputs) == 0, "Deposit must have no inputs"
    assert len(decoded.outputs) == 1, "Deposit must have exactly one output"
    return decoded.outputs[0]


@internal
@pure
def check_deposit_owner(output: Output, depositor: address):
    """A deposit's output is a payment output owned by whoever pays for it."""
    assert output.output_type == OUTPUT_TYPE_PAYMENT, "Invalid output type"
    assert output.output_guard == depositor, "Depositor's address must match sender's address"


# --- UTXO positions (PosLib) -----------------------------------------------------

@internal
@pure
def decode_pos(pos: uint256) -> Position:
    blknum: uint256 = pos // BLOCK_OFFSET
    txindex: uint256 = (pos % BLOCK_OFFSET) // TX_OFFSET
    oindex: uint256 = pos % TX_OFFSET
    assert blknum <= MAX_BLOCK_NUM, "blockNum exceeds max size allowed in PlasmaFramework"
    assert txindex <= MAX_TX_INDEX, "txIndex exceeds the size of uint16"
    return Position(blknum=blknum, txindex=txindex, oindex=oindex)


@internal
@pure
def tx_pos(pos: uint256) -> uint256:
    """The position of the transaction holding the output (oindex 0)."""
    return pos - pos % TX_OFFSET


@internal
@pure
def is_deposit(blknum: uint256) -> bool:
    return blknum % CHILD_BLOCK_INTERVAL != 0
