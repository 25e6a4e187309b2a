# pragma version ~=0.4.3
"""
@title EIP-712 hash of a payment transaction with OMG's domain
@notice hash = keccak(0x1901 || domainSeparator || hashStruct(Transaction)), four input
        and four output slots, empty slots hash the all-zero struct; domain
        (name "OMG Network", version "1", verifyingContract = the PlasmaFramework, salt),
        no chainId (plasma-contracts' PaymentEip712Lib; proofs/eip712.py).
        Signatures are r || s || v, v in {27, 28}, low s (OpenZeppelin 2.3 ECDSA.recover).
"""
import payment

DOMAIN_TYPE_HASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,address verifyingContract,bytes32 salt)"
)
NAME_HASH: constant(bytes32) = keccak256("OMG Network")
VERSION_HASH: constant(bytes32) = keccak256("1")
DOMAIN_SALT: constant(bytes32) = 0xfad5c7f626d80f9256ef01929f3beb96e058b8b4b0e3fe52d84f054c0e2a7a83
INPUT_TYPE_HASH: constant(bytes32) = keccak256("Input(uint256 blknum,uint256 txindex,uint256 oindex)")
OUTPUT_TYPE_HASH: constant(bytes32) = keccak256(
    "Output(uint256 outputType,bytes20 outputGuard,address currency,uint256 amount)"
)
# "Transaction(...)" followed by the Input and Output type strings, as EIP-712 encodeType does.
TX_TYPE_HASH: constant(bytes32) = keccak256("Transaction(uint256 txType,Input input0,Input input1,Input input2,Input input3,Output output0,Output output1,Output output2,Output output3,uint256 txData,bytes32 metadata)Input(uint256 blknum,uint256 txindex,uint256 oindex)Output(uint256 outputType,bytes20 outputGuard,address currency,uint256 amount)")
# 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0, half the curve order
SECP256K1_HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168


@internal
@pure
def domain_separator(verifying_contract: address) -> bytes32:
    return keccak256(abi_encode(DOMAIN_TYPE_HASH, NAME_HASH, VERSION_HASH, verifying_contract, DOMAIN_SALT))


@internal
@pure
def _hash_input(input: bytes32) -> bytes32:
    pos: payment.Position = payment.decode_pos(convert(input, uint256))
    return keccak256(abi_encode(INPUT_TYPE_HASH, pos.blknum, pos.txindex, pos.oindex))


@internal
@pure
def _hash_output(output: payment.Output) -> bytes32:
    return keccak256(
        abi_encode(
            OUTPUT_TYPE_HASH,
            output.output_type,
            convert(output.output_guard, bytes20),
            output.token,
            output.amount,
        )
    )


@internal
@pure
def struct_hash(ptx: payment.Transaction) -> bytes32:
    inputs: bytes32[payment.MAX_INPUTS] = empty(bytes32[payment.MAX_INPUTS])
    outputs: bytes32[payment.MAX_OUTPUTS] = empty(bytes32[payment.MAX_OUTPUTS])
    for i: uint256 in range(payment.MAX_INPUTS):
        inputs[i] = self._hash_input(ptx.inputs[i] if i < len(ptx.inputs) else empty(bytes32))
    empty_output: payment.Output = empty(payment.Output)
    for i: uint256 in range(payment.MAX_OUTPUTS):
        outputs[i] = self._hash_output(ptx.outputs[i] if i < len(ptx.outputs) else empty_output)
    return keccak256(
        abi_encode(
            TX_TYPE_HASH,
            ptx.tx_type,
            inputs[0], inputs[1], inputs[2], inputs[3],
            outputs[0], outputs[1], outputs[2], outputs[3],
            ptx.tx_data,
            ptx.metadata,
        )
    )


@internal
@pure
def hash_tx(ptx: payment.Transaction, verifying_contract: address) -> bytes32:
    """The digest every input owner signs."""
    return keccak256(concat(b"\x19\x01", self.domain_separator(verifying_contract), self.struct_hash(ptx)))


@internal
@pure
def recover(digest: bytes32, signature: Bytes[65]) -> address:
    """The signer of `digest`, or the zero address for a malformed or malleable signature."""
    if len(signature) != 65:
        return empty(address)
    r: uint256 = convert(slice(signature, 0, 32), uint256)
    s: uint256 = convert(slice(signature, 32, 32), uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    if s > SECP256K1_HALF_N or (v != 27 and v != 28):
        return empty(address)
    return ecrecover(digest, v, r, s)
