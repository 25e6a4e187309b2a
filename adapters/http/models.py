"""Request and response bodies: elixir-omg's swagger (watcher security-critical and info
APIs), field for field. The OpenAPI document is generated from these models.

Requests refuse unknown fields, except `jsonrpc` and `id`, which omg-js adds to every body.
Integers the ledger has no value for (it keeps no clock and no Ethereum heights per block)
are null where elixir's schema allows a string or an integer to be absent, and 0 where
`status.get` requires one.
"""
from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from adapters.http.codec import Address, Hash, HexBytes, Signature

T = TypeVar("T")
UINT256 = Field(ge=0, lt=2**256)
POS = Field(ge=0, lt=2**256)
PAGE = Field(default=1, ge=1, le=2**31 - 1)


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")
    jsonrpc: str | None = Field(default=None, max_length=16)
    id: int | str | None = Field(default=None)


class Empty(Request):
    pass


class AddressPaged(Request):
    address: Address
    page: int = PAGE
    limit: int = Field(default=200, ge=1, le=1000)


class AddressOnly(Request):
    address: Address


class TxFilter(Request):
    address: Address | None = None
    blknum: int | None = Field(default=None, ge=0, lt=2**63)
    txtypes: list[int] | None = Field(default=None, max_length=16)
    metadata: Hash | None = None
    page: int = PAGE
    limit: int = Field(default=200, ge=1, le=1000)
    end_datetime: int | None = Field(default=None, ge=0)


class TxGet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    jsonrpc: str | None = Field(default=None, max_length=16)
    id: Hash


class Paged(Request):
    page: int = PAGE
    limit: int = Field(default=100, ge=1, le=1000)


class DepositFilter(Paged):
    address: Address | None = None


class BlockGet(Request):
    blknum: int = Field(ge=1, lt=2**63)


class FeesFilter(Request):
    currencies: list[Address] | None = Field(default=None, max_length=64)
    tx_types: list[int] | None = Field(default=None, max_length=16)


class UtxoPos(Request):
    utxo_pos: int = POS


class TxBytes(Request):
    txbytes: HexBytes


class TxBytesInput(TxBytes):
    input_index: int = Field(ge=0, le=3)


class TxBytesOutput(TxBytes):
    output_index: int = Field(ge=0, le=3)


class Submit(Request):
    transaction: HexBytes


class PaymentItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int = Field(ge=1, lt=2**256)
    currency: Address
    owner: Address | None = None


class FeeCurrency(BaseModel):
    model_config = ConfigDict(extra="forbid")
    currency: Address


class Create(Request):
    owner: Address
    payments: list[PaymentItem] = Field(min_length=1, max_length=4)
    fee: FeeCurrency
    metadata: Hash | None = None


class TypedInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    blknum: int = Field(ge=0, lt=2**256)
    txindex: int = Field(ge=0, lt=2**256)
    oindex: int = Field(ge=0, lt=2**256)


class TypedOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    owner: Address
    currency: Address
    amount: int = UINT256


class TypedMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input0: TypedInput
    input1: TypedInput
    input2: TypedInput
    input3: TypedInput
    output0: TypedOutput
    output1: TypedOutput
    output2: TypedOutput
    output3: TypedOutput
    metadata: Hash


class Domain(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=64)
    version: str | None = Field(default=None, max_length=16)
    verifyingContract: Address
    salt: Hash


class SubmitTyped(Request):
    domain: Domain
    message: TypedMessage
    signatures: list[Signature] = Field(max_length=4)
    types: dict[str, Any] | None = None  # what transaction.create returned, echoed back by omg-js
    primaryType: str | None = Field(default=None, max_length=64)


# --- responses -------------------------------------------------------------------------


class Ok(BaseModel, Generic[T]):
    version: str
    success: Literal[True]
    data: T
    service_name: str


class DataPaging(BaseModel):
    page: int
    limit: int


class OkPage(Ok[T], Generic[T]):
    data_paging: DataPaging


class ErrorData(BaseModel):
    object: Literal["error"]
    code: str
    description: str
    messages: dict[str, Any] | None = None


class Error(BaseModel):
    version: str
    success: Literal[False]
    data: ErrorData
    service_name: str


class Balance(BaseModel):
    currency: str
    amount: int


class Utxo(BaseModel):
    blknum: int
    txindex: int
    otype: int
    oindex: int
    utxo_pos: int
    owner: str
    currency: str
    amount: int
    creating_txhash: str | None = None
    spending_txhash: str | None = None
    inserted_at: str | None = None
    updated_at: str | None = None


class ExitableUtxo(BaseModel):
    blknum: int
    txindex: int
    otype: int
    oindex: int
    utxo_pos: int
    owner: str
    currency: str
    amount: int


class Block(BaseModel):
    blknum: int
    hash: str
    eth_height: int | None
    timestamp: int | None
    tx_count: int
    inserted_at: str | None = None
    updated_at: str | None = None


class Transaction(BaseModel):
    txindex: int
    txtype: int
    txhash: str
    metadata: str
    txbytes: str
    inserted_at: str | None = None
    updated_at: str | None = None
    block: Block | None  # null while the transaction is in the open block
    inputs: list[Utxo]
    outputs: list[Utxo]


class Submitted(BaseModel):
    blknum: int
    txindex: int
    txhash: str


class FeeItem(BaseModel):
    currency: str
    amount: int
    subunit_to_unit: int
    pegged_currency: str | None
    pegged_amount: int | None
    pegged_subunit_to_unit: int | None
    updated_at: str | None


class Deposit(BaseModel):
    event_type: str
    root_chain_txhash: str | None
    log_index: int | None
    eth_height: int | None
    inserted_at: str | None = None
    updated_at: str | None = None
    txoutputs: list[Utxo]


class ExitData(BaseModel):
    utxo_pos: int
    txbytes: str
    proof: str


class ChallengeData(BaseModel):
    exit_id: int
    input_index: int
    sig: str
    txbytes: str
    exiting_tx: str


class IfeData(BaseModel):
    in_flight_tx: str
    input_txs: list[str]
    input_txs_inclusion_proofs: list[str]
    in_flight_tx_sigs: list[str]
    input_utxos_pos: list[int]


class Competitor(BaseModel):
    in_flight_txbytes: str
    in_flight_input_index: int
    competing_txbytes: str
    competing_input_index: int
    competing_sig: str
    competing_tx_pos: int
    competing_proof: str
    input_tx: str
    input_utxo_pos: int


class Canonical(BaseModel):
    in_flight_txbytes: str
    in_flight_tx_pos: int
    in_flight_proof: str


class InputChallenge(BaseModel):
    in_flight_txbytes: str
    in_flight_input_index: int
    spending_txbytes: str
    spending_input_index: int
    spending_sig: str
    input_tx: str
    input_utxo_pos: int


class OutputChallenge(BaseModel):
    in_flight_txbytes: str
    in_flight_output_pos: int
    in_flight_proof: str
    spending_txbytes: str
    spending_input_index: int
    spending_sig: str


class CreatedOutput(BaseModel):
    amount: int
    currency: str
    owner: str


class CreatedFee(BaseModel):
    amount: int
    currency: str


class CreatedTx(BaseModel):
    inputs: list[Utxo]
    outputs: list[CreatedOutput]
    fee: CreatedFee
    metadata: str
    txbytes: str
    sign_hash: str
    typed_data: dict[str, Any]


class Created(BaseModel):
    result: Literal["complete", "intermediate"]
    transactions: list[CreatedTx]


class ByzantineEvent(BaseModel):
    event: str
    details: dict[str, Any]


class InFlightExitStatus(BaseModel):
    txhash: str
    txbytes: str
    eth_height: int
    piggybacked_inputs: list[int]
    piggybacked_outputs: list[int]


class Status(BaseModel):
    last_validated_child_block_timestamp: int
    last_validated_child_block_number: int
    last_mined_child_block_timestamp: int
    last_mined_child_block_number: int
    last_seen_eth_block_timestamp: int
    last_seen_eth_block_number: int
    contract_addr: dict[str, str]
    eth_syncing: bool
    byzantine_events: list[ByzantineEvent]
    in_flight_txs: list[dict[str, Any]]
    in_flight_exits: list[InFlightExitStatus]
    services_synced_heights: list[dict[str, Any]]


# --- the ledger's own routes --------------------------------------------------------------


class ValidatorGet(Request):
    address: Address


class CommitGet(Request):
    blknum: int = Field(ge=1, lt=2**63)


class FeeRuleItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tx_type: int = Field(ge=1, lt=2**256)
    currency: Address
    amount: int = UINT256


class FeeVote(Request):
    validator: Address
    schedule: list[FeeRuleItem] = Field(max_length=64)
    signature: Signature


class ValidatorInfo(BaseModel):
    address: str
    bls_key: str
    bonded: int
    jailed: bool
    jailed_until: int
    tombstoned: bool
    nonce: int
    active: bool
    missed_in_window: int
    fee_vote: list[dict[str, Any]]


class CommitInfo(BaseModel):
    blknum: int
    root: str
    log_head: str
    signers_bitmap: str | None  # over the active set at commit time, by address; null: no commit yet


class EpochInfo(BaseModel):
    epoch: int
    epoch_blocks: int
    fee_schedule: list[dict[str, Any]]
    fees_distributed: list[dict[str, Any]]
    votes: list[dict[str, Any]]


class Accepted(BaseModel):
    index: int
    hash: str


class InvariantStatus(BaseModel):
    ok: bool
    events: int
    checked: list[str]
    violation: dict[str, Any] | None


class AuditVerdict(BaseModel):
    ok: bool
    events: int
    head_hash: str
    failure: dict[str, Any] | None
    findings: list[dict[str, Any]]
    anchored_through: int
    unanchored: list[int] | None
    value: dict[str, dict[str, int]]


# --- the DEX (ours, in OMG's style) --------------------------------------------------------


class Pair(Request):
    """Two tokens in either order: the answer names the pair (base, quote), base < quote bytewise."""
    tokens: list[Address] | None = Field(default=None, min_length=2, max_length=2)


class OrderCreate(Request):
    owner: Address
    sell_token: Address
    buy_token: Address
    sell_amount: int = Field(ge=1, lt=2**256)
    buy_amount: int = Field(ge=1, lt=2**256)
    expiry: int | None = Field(default=None, ge=1, lt=2**63)  # a child block number; default: 100 blocks on
    nonce: int | None = Field(default=None, ge=0, lt=2**256)  # default: the first input's position
    fee: FeeCurrency | None = None  # default: the sell token
    metadata: Hash | None = None


class OrderGet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    jsonrpc: str | None = Field(default=None, max_length=16)
    id: Hash  # the order id: hashStruct(Order)


class TradeFilter(Pair):
    address: Address | None = None
    page: int = PAGE
    limit: int = Field(default=200, ge=1, le=1000)


class Level(BaseModel):
    price_num: int  # quote units per base unit = price_num / price_den
    price_den: int
    amount: int  # open, in the side's sell token: base for asks, quote for bids
    orders: int


class Book(BaseModel):
    base: str
    quote: str
    asks: list[Level]  # selling base, lowest price first
    bids: list[Level]  # selling quote, highest price first


class OrderInfo(BaseModel):
    order_id: str
    owner: str
    sell_token: str
    buy_token: str
    sell_amount: int
    buy_amount: int
    expiry: int
    nonce: int
    amount: int  # sell amount still open (0 once filled, cancelled or exited)
    utxo_pos: int | None  # the order output now (None once it is gone)
    status: Literal["open", "expired", "filled", "cancelled", "exited"]


class TradeInfo(BaseModel):
    blknum: int
    txindex: int
    txhash: str
    order_id: str
    owner: str
    sell_token: str
    buy_token: str
    sold: int
    bought: int  # gross; the owner received bought - fee
    fee: int
    base: str
    quote: str
    price_num: int
    price_den: int


class OrderDetail(OrderInfo):
    placed_txhash: str
    fills: list[TradeInfo]


class ClearingPrice(BaseModel):
    base: str
    quote: str
    price_num: int
    price_den: int
    blknum: int


class TradingFee(BaseModel):
    base: str
    quote: str
    bps: int


class OrderCreated(BaseModel):
    order_id: str
    inputs: list[Utxo]
    outputs: list[CreatedOutput]
    fee: CreatedFee
    txbytes: str
    sign_hash: str
    typed_data: dict[str, Any]
