# pragma version ~=0.4.3
"""
@title PlasmaFramework
@notice The root-chain anchor of the child chain, after plasma-contracts v1.0.4's
        PlasmaFramework (BlockController + ExitGameController + registries):
        - the authority submits child block roots at 1000, 2000, ...;
        - registered vaults submit deposit blocks between them (n*1000 + 1 ... n*1000 + 999);
        - registered exit games enqueue exits in per (vault, token) priority queues (one
          PriorityQueue contract each, `exitsQueues`), which anyone processes once an exit's
          exitable timestamp has passed;
        - outputs that have exited are flagged so no second exit game pays them twice.
        - a vault or exit game registered after deployment is quarantined (Quarantine.sol):
          a vault submits deposit blocks after 2 minimum exit periods, an exit game enqueues,
          flags outputs and is paid by the vaults after 4, so users see a rogue one coming
          and exit first; those registered at deployment (the initial immune ones) are not.
        Its address is the EIP-712 verifying contract of the child chain. Its ABI is v1.0.4's
        where omg-js 4.1.2-1.0.4 calls it (exit ids are uint160, a deposit block logs no
        BlockSubmitted: its vault's DepositCreated is the deposit's first log).
        Not (yet) here: maintainer role, child chain activation.
"""

CHILD_BLOCK_INTERVAL: public(constant(uint256)) = 1000
TX_OFFSET: constant(uint256) = 10_000
# Exit priority layout (v1.0.4's ExitPriority): exitableAt (42 bits) | tx position / 10^4 (54 bits) | exitId (160 bits)
PRIORITY_EXITABLE_AT_SHIFT: constant(uint256) = 214
PRIORITY_TX_POS_SHIFT: constant(uint256) = 160
EXIT_ID_MASK: constant(uint256) = (1 << 160) - 1
TX_POS_MASK: constant(uint256) = (1 << 54) - 1
MAX_EXITS_PER_CALL: constant(uint256) = 128
# Output ids an exit game flags or checks in one call: an in-flight exit's inputs and outputs.
MAX_OUTPUT_IDS: constant(uint256) = 16
PROTOCOL_MVP: constant(uint8) = 1
PROTOCOL_MORE_VP: constant(uint8) = 2
# Quarantine, in minimum exit periods (plasma-contracts v1.0.4's VaultRegistry and ExitGameRegistry).
VAULT_QUARANTINE_PERIODS: constant(uint256) = 2
EXIT_GAME_QUARANTINE_PERIODS: constant(uint256) = 4

interface PriorityQueue:
    def insert(priority: uint256): nonpayable
    def delMin() -> uint256: nonpayable
    def getMin() -> uint256: view
    def currentSize() -> uint256: view

interface ExitProcessor:
    def processExit(exitId: uint160, vaultId: uint256, token: address): nonpayable


struct Block:
    root: bytes32
    timestamp: uint256


event BlockSubmitted:
    blknum: uint256

event VaultRegistered:
    vaultId: uint256
    vaultAddress: address

event ExitGameRegistered:
    txType: uint256
    exitGameAddress: address
    protocol: uint8

event ExitQueueAdded:
    vaultId: uint256
    token: address

event ExitQueued:
    exitId: indexed(uint160)
    priority: uint256

event ProcessedExitsNum:
    processedNum: uint256
    vaultId: uint256
    token: address


authority: public(address)
minExitPeriod: public(uint256)
nextChildBlock: public(uint256)
nextDeposit: public(uint256)
blocks: public(HashMap[uint256, Block])

vaults: public(HashMap[uint256, address])
vaultToId: public(HashMap[address, uint256])
exitGames: public(HashMap[uint256, address])
exitGameToTxType: public(HashMap[address, uint256])
protocols: public(HashMap[uint256, uint8])
# Quarantine.Data: address => timestamp it is usable from (0: immune), and the immunities left.
_vaultQuarantinedUntil: HashMap[address, uint256]
_exitGameQuarantinedUntil: HashMap[address, uint256]
_immuneVaultsRemaining: uint256
_immuneExitGamesRemaining: uint256

# outputId => exitId of the exit that paid it
outputsFinalized: public(HashMap[bytes32, uint160])

# keccak256(abi.encodePacked(vaultId, token)) => its PriorityQueue (omg-js computes the key itself)
exitsQueues: public(HashMap[bytes32, address])
# The PriorityQueue blueprint (ERC-5202) each addExitQueue creates a queue from.
queueBlueprint: public(immutable(address))
# queue => priority => the exit game that processes it. Per queue: an in-flight exit of several
# tokens is queued once per token, with the same priority in each.
_exit_processors: HashMap[bytes32, HashMap[uint256, address]]


@deploy
def __init__(min_exit_period_s: uint256, initialImmuneVaults: uint256, initialImmuneExitGames: uint256,
             priorityQueueBlueprint: address):
    """The first `initialImmuneVaults` vaults and `initialImmuneExitGames` exit games registered
    (at deployment, before users trust the chain) are usable at once; every later one waits."""
    assert min_exit_period_s > 0, "Minimum exit period must be positive"
    assert priorityQueueBlueprint.is_contract, "Priority queue blueprint must be a contract"
    queueBlueprint = priorityQueueBlueprint
    self.authority = msg.sender
    self.minExitPeriod = min_exit_period_s
    self._immuneVaultsRemaining = initialImmuneVaults
    self._immuneExitGamesRemaining = initialImmuneExitGames
    self.nextChildBlock = CHILD_BLOCK_INTERVAL
    self.nextDeposit = 1


# --- blocks (BlockController) ---------------------------------------------------

@external
def submitBlock(blockRoot: bytes32):
    """The authority submits the next child block's Merkle root."""
    assert msg.sender == self.authority, "Can only be called by the authority"
    blknum: uint256 = self.nextChildBlock
    self.blocks[blknum] = Block(root=blockRoot, timestamp=block.timestamp)
    self.nextChildBlock = blknum + CHILD_BLOCK_INTERVAL
    self.nextDeposit = 1
    log BlockSubmitted(blknum=blknum)


@external
def submitDepositBlock(blockRoot: bytes32) -> uint256:
    """A registered vault submits a one-transaction deposit block; returns its number. It logs
    nothing: omg-js reads the deposit's block number from the deposit receipt's first log."""
    assert self.vaultToId[msg.sender] != 0, "The call is not from a registered vault"
    assert block.timestamp >= self._vaultQuarantinedUntil[msg.sender], "Vault is quarantined"
    assert self.nextDeposit < CHILD_BLOCK_INTERVAL, "Exceeded limit of deposits per child block interval"
    blknum: uint256 = self.nextChildBlock - CHILD_BLOCK_INTERVAL + self.nextDeposit
    self.blocks[blknum] = Block(root=blockRoot, timestamp=block.timestamp)
    self.nextDeposit += 1
    return blknum


@view
@external
def isDeposit(blknum: uint256) -> bool:
    return blknum % CHILD_BLOCK_INTERVAL != 0


# --- registries -----------------------------------------------------------------

@external
def registerVault(vaultId: uint256, vaultAddress: address):
    assert msg.sender == self.authority, "Can only be called by the authority"
    assert vaultId != 0, "Should not register with vault ID 0"
    assert vaultAddress != empty(address), "Should not register an empty vault address"
    assert self.vaults[vaultId] == empty(address), "The vault ID is already registered"
    assert self.vaultToId[vaultAddress] == 0, "The vault contract is already registered"
    self.vaults[vaultId] = vaultAddress
    self.vaultToId[vaultAddress] = vaultId
    if self._immuneVaultsRemaining == 0:
        self._vaultQuarantinedUntil[vaultAddress] = block.timestamp + VAULT_QUARANTINE_PERIODS * self.minExitPeriod
    else:
        self._immuneVaultsRemaining -= 1
    log VaultRegistered(vaultId=vaultId, vaultAddress=vaultAddress)


@external
def registerExitGame(txType: uint256, exitGame: address, protocol: uint8):
    assert msg.sender == self.authority, "Can only be called by the authority"
    assert txType != 0, "Should not register with tx type 0"
    assert exitGame != empty(address), "Should not register with an empty exit game address"
    assert protocol == PROTOCOL_MVP or protocol == PROTOCOL_MORE_VP, "Invalid protocol value"
    assert self.exitGames[txType] == empty(address), "The tx type is already registered"
    assert self.exitGameToTxType[exitGame] == 0, "The exit game contract is already registered"
    self.exitGames[txType] = exitGame
    self.exitGameToTxType[exitGame] = txType
    self.protocols[txType] = protocol
    if self._immuneExitGamesRemaining == 0:
        self._exitGameQuarantinedUntil[exitGame] = block.timestamp + EXIT_GAME_QUARANTINE_PERIODS * self.minExitPeriod
    else:
        self._immuneExitGamesRemaining -= 1
    log ExitGameRegistered(txType=txType, exitGameAddress=exitGame, protocol=protocol)


@view
@external
def isExitGameSafeToUse(exitGame: address) -> bool:
    """Registered and out of quarantine: what the vaults ask before paying an exit game."""
    return self._exit_game_safe(exitGame)


@view
@internal
def _exit_game_safe(exitGame: address) -> bool:
    return self.exitGameToTxType[exitGame] != 0 and block.timestamp >= self._exitGameQuarantinedUntil[exitGame]


@view
@internal
def _only_safe_exit_game():
    assert self.exitGameToTxType[msg.sender] != 0, "The call is not from a registered exit game"
    assert self._exit_game_safe(msg.sender), "ExitGame is quarantined"


# --- exit queues (ExitGameController) ---------------------------------------------

@pure
@internal
def _queue_key(vaultId: uint256, token: address) -> bytes32:
    return keccak256(concat(convert(vaultId, bytes32), convert(token, bytes20)))


@view
@internal
def _queue(vaultId: uint256, token: address) -> PriorityQueue:
    """The exit queue of (vaultId, token); reverts if there is none."""
    queue: address = self.exitsQueues[self._queue_key(vaultId, token)]
    assert queue != empty(address), "The exit queue for vault ID and token does not exist"
    return PriorityQueue(queue)


@view
@external
def hasExitQueue(vaultId: uint256, token: address) -> bool:
    return self.exitsQueues[self._queue_key(vaultId, token)] != empty(address)


@external
def addExitQueue(vaultId: uint256, token: address):
    """Anyone may open the exit queue of a registered vault and a token."""
    assert vaultId != 0, "Vault ID must not be 0"
    assert self.vaults[vaultId] != empty(address), "Vault ID is not registered"
    key: bytes32 = self._queue_key(vaultId, token)
    assert self.exitsQueues[key] == empty(address), "Exit queue exists"
    self.exitsQueues[key] = create_from_blueprint(queueBlueprint)
    log ExitQueueAdded(vaultId=vaultId, token=token)


@view
@external
def exitQueueSize(vaultId: uint256, token: address) -> uint256:
    return staticcall self._queue(vaultId, token).currentSize()


@view
@external
def getNextExit(vaultId: uint256, token: address) -> uint256:
    """The smallest priority in the queue (the next exit to process)."""
    return staticcall self._queue(vaultId, token).getMin()


@pure
@external
def computePriority(exitableAt: uint32, txPos: uint256, exitId: uint160) -> uint256:
    return self._priority(exitableAt, txPos, exitId)


@pure
@internal
def _priority(exitableAt: uint32, txPos: uint256, exitId: uint160) -> uint256:
    tx_pos_field: uint256 = txPos // TX_OFFSET
    assert tx_pos_field <= TX_POS_MASK, "Tx position does not fit the priority"
    return (
        (convert(exitableAt, uint256) << PRIORITY_EXITABLE_AT_SHIFT)
        | (tx_pos_field << PRIORITY_TX_POS_SHIFT)
        | convert(exitId, uint256)
    )


@external
def enqueue(vaultId: uint256, token: address, exitableAt: uint32, txPos: uint256, exitId: uint160) -> uint256:
    """A registered exit game queues one of its exits; the caller processes it later."""
    self._only_safe_exit_game()
    key: bytes32 = self._queue_key(vaultId, token)
    queue: address = self.exitsQueues[key]
    assert queue != empty(address), "The queue for the (vaultId, token) pair is not yet added to the Plasma framework"
    priority: uint256 = self._priority(exitableAt, txPos, exitId)
    assert self._exit_processors[key][priority] == empty(address), "Exit is already queued"
    self._exit_processors[key][priority] = msg.sender
    extcall PriorityQueue(queue).insert(priority)
    log ExitQueued(exitId=exitId, priority=priority)
    return priority


@external
@nonreentrant
def processExits(vaultId: uint256, token: address, topExitId: uint160, maxExitsToProcess: uint256):
    """Process up to `maxExitsToProcess` exits whose exitable timestamp has passed, in priority order.
    `topExitId` (0 to skip the check) guards against processing a different exit than expected."""
    assert vaultId != 0, "Vault ID must not be 0"
    key: bytes32 = self._queue_key(vaultId, token)
    queue: PriorityQueue = self._queue(vaultId, token)
    assert staticcall queue.currentSize() > 0, "Exit queue is empty"
    top_exit_id: uint160 = convert(staticcall queue.getMin() & EXIT_ID_MASK, uint160)
    assert topExitId == 0 or topExitId == top_exit_id, "Top exit ID of the queue is different to the one specified"
    processed: uint256 = 0
    for i: uint256 in range(MAX_EXITS_PER_CALL):
        if processed == maxExitsToProcess or staticcall queue.currentSize() == 0:
            break
        priority: uint256 = staticcall queue.getMin()
        if (priority >> PRIORITY_EXITABLE_AT_SHIFT) >= block.timestamp:
            break
        extcall queue.delMin()
        processor: address = self._exit_processors[key][priority]
        self._exit_processors[key][priority] = empty(address)
        extcall ExitProcessor(processor).processExit(convert(priority & EXIT_ID_MASK, uint160), vaultId, token)
        processed += 1
    log ProcessedExitsNum(processedNum=processed, vaultId=vaultId, token=token)


# --- outputs that have exited ---------------------------------------------------

@view
@external
def isOutputFinalized(outputId: bytes32) -> bool:
    return self.outputsFinalized[outputId] != 0


@external
def flagOutputFinalized(outputId: bytes32, exitId: uint160):
    self._only_safe_exit_game()
    assert outputId != empty(bytes32), "Should not flag an empty output ID"
    assert exitId != 0, "Should not flag with exit ID 0"
    assert self.outputsFinalized[outputId] == 0, "Output is already finalized"
    self.outputsFinalized[outputId] = exitId


@external
def batchFlagOutputsFinalized(outputIds: DynArray[bytes32, MAX_OUTPUT_IDS], exitId: uint160):
    """Flag outputs an exit finalized; an output already flagged keeps the exit that flagged it
    first (an in-flight exit flags its inputs again for each of its tokens)."""
    self._only_safe_exit_game()
    assert exitId != 0, "Should not flag with exit ID 0"
    for output_id: bytes32 in outputIds:
        assert output_id != empty(bytes32), "Should not flag an empty output ID"
        if self.outputsFinalized[output_id] == 0:
            self.outputsFinalized[output_id] = exitId


@view
@external
def isAnyInputFinalizedByOtherExit(outputIds: DynArray[bytes32, MAX_OUTPUT_IDS], exitId: uint160) -> bool:
    """Whether an exit other than `exitId` finalized any of `outputIds`."""
    for output_id: bytes32 in outputIds:
        finalized_by: uint160 = self.outputsFinalized[output_id]
        if finalized_by != 0 and finalized_by != exitId:
            return True
    return False
