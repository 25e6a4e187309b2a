# pragma version ~=0.4.3
"""
@title PriorityQueue
@notice One exit queue of the PlasmaFramework (one per vault and token), after plasma-contracts
        v1.0.4's PriorityQueue: a binary min-heap of exit priorities, 1-based, whose slot 0
        holds 0 so that `heapList()` answers as v1.0.4's does (omg-js's getExitQueue drops that
        first element). Created by the framework from this contract's blueprint in addExitQueue;
        only the framework that created it inserts and removes.
"""

# A heap path is at most 24 levels: the queue holds fewer than 2**24 exits, each of which posted
# a bond, so filling it costs far more than any exit it could delay (and processing empties it).
MAX_LEVELS: constant(uint256) = 24
MAX_SIZE: constant(uint256) = (1 << MAX_LEVELS) - 1

framework: public(address)
heap: DynArray[uint256, MAX_SIZE + 1]


@deploy
def __init__():
    self.framework = msg.sender
    self.heap.append(0)


@view
@external
def currentSize() -> uint256:
    return len(self.heap) - 1


@view
@external
def heapList() -> DynArray[uint256, MAX_SIZE + 1]:
    """The heap as stored: 0, then the priorities in heap order."""
    return self.heap


@view
@external
def getMin() -> uint256:
    assert len(self.heap) > 1, "Queue is empty"
    return self.heap[1]


@external
def insert(priority: uint256):
    assert msg.sender == self.framework, "Caller address is unauthorized"
    assert len(self.heap) <= MAX_SIZE, "Exit queue is full"
    self.heap.append(priority)
    i: uint256 = len(self.heap) - 1
    for level: uint256 in range(MAX_LEVELS):
        if i == 1:
            break
        parent_value: uint256 = self.heap[i // 2]
        if parent_value <= priority:
            break
        self.heap[i] = parent_value
        i = i // 2
    self.heap[i] = priority


@external
def delMin() -> uint256:
    assert msg.sender == self.framework, "Caller address is unauthorized"
    assert len(self.heap) > 1, "Queue is empty"
    smallest: uint256 = self.heap[1]
    last: uint256 = self.heap.pop()
    size: uint256 = len(self.heap) - 1
    if size == 0:
        return smallest
    i: uint256 = 1
    for level: uint256 in range(MAX_LEVELS):
        child: uint256 = 2 * i
        if child > size:
            break
        if child + 1 <= size and self.heap[child + 1] < self.heap[child]:
            child += 1
        child_value: uint256 = self.heap[child]
        if child_value >= last:
            break
        self.heap[i] = child_value
        i = child
    self.heap[i] = last
    return smallest
