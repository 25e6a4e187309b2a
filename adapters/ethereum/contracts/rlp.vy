# pragma version ~=0.4.3
"""
@title Strict RLP reader
@notice Reads the RLP shapes of OMG's payment transaction out of a byte string,
        as strictly as plasma-contracts' RLPReader: one canonical encoding per
        value (no long form for a payload of 55 bytes or less, no leading zeros in a
        length, no single byte below 0x80 wrapped as a string), no item running past
        its enclosing list, and no trailing bytes inside a list.
        Stateless: a module of internal functions over (bytes, offset) pairs.
"""

# The largest byte string the readers take. A payment transaction with four inputs
# and four uint256 outputs is under 500 bytes unsigned.
MAX_BYTES: constant(uint256) = 1024
# The most items read out of one list: a transaction has 5 fields, and reading the 6 of a
# signed transaction lets the decoder name the mistake ("Invalid encoding of transaction").
MAX_ITEMS: constant(uint256) = 6

STRING_SHORT_START: constant(uint256) = 128  # 0x80
STRING_LONG_START: constant(uint256) = 184   # 0xb8
LIST_SHORT_START: constant(uint256) = 192    # 0xc0
LIST_LONG_START: constant(uint256) = 248     # 0xf8
MAX_LENGTH_OF_LENGTH: constant(uint256) = 8


struct Item:
    is_list: bool
    start: uint256    # offset of the item's first byte (its header)
    payload: uint256  # offset of the payload
    length: uint256   # payload length in bytes
    end: uint256      # offset just past the item


@internal
@pure
def byte_at(data: Bytes[MAX_BYTES], offset: uint256) -> uint256:
    assert offset < len(data), "RLP: read past the end"
    return convert(slice(data, offset, 1), uint256)


@internal
@pure
def _long_length(data: Bytes[MAX_BYTES], offset: uint256, length_of_length: uint256) -> uint256:
    """Big-endian length of `length_of_length` bytes at `offset`, with no leading zero."""
    assert self.byte_at(data, offset) != 0, "Invalid leading zeros in length of the length"
    result: uint256 = 0
    for i: uint256 in range(MAX_LENGTH_OF_LENGTH):
        if i == length_of_length:
            break
        result = (result << 8) | self.byte_at(data, offset + i)
    assert result > 55, "Invalid length for a long string or list"
    return result


@internal
@pure
def item_at(data: Bytes[MAX_BYTES], offset: uint256, limit: uint256) -> Item:
    """The item whose header is at `offset`; it must end at or before `limit`."""
    assert offset < limit, "RLP: item out of range"
    prefix: uint256 = self.byte_at(data, offset)
    is_list: bool = False
    payload: uint256 = 0
    length: uint256 = 0
    if prefix < STRING_SHORT_START:
        payload = offset
        length = 1
    elif prefix < STRING_LONG_START:
        payload = offset + 1
        length = prefix - STRING_SHORT_START
        if length == 1:
            assert payload < limit, "RLP: item out of range"
            assert self.byte_at(data, payload) >= STRING_SHORT_START, "Invalid short string encoding"
    elif prefix < LIST_SHORT_START:
        length_of_length: uint256 = prefix - (STRING_LONG_START - 1)
        assert offset + 1 + length_of_length <= limit, "RLP: item out of range"
        length = self._long_length(data, offset + 1, length_of_length)
        payload = offset + 1 + length_of_length
    elif prefix < LIST_LONG_START:
        is_list = True
        payload = offset + 1
        length = prefix - LIST_SHORT_START
    else:
        is_list = True
        length_of_length: uint256 = prefix - (LIST_LONG_START - 1)
        assert offset + 1 + length_of_length <= limit, "RLP: item out of range"
        length = self._long_length(data, offset + 1, length_of_length)
        payload = offset + 1 + length_of_length
    end: uint256 = payload + length
    assert end <= limit, "RLP: item out of range"
    return Item(is_list=is_list, start=offset, payload=payload, length=length, end=end)


@internal
@pure
def whole(data: Bytes[MAX_BYTES]) -> Item:
    """`data` as exactly one item: nothing may follow it."""
    item: Item = self.item_at(data, 0, len(data))
    assert item.end == len(data), "Decoded RLP length is invalid"
    return item


@internal
@pure
def children(data: Bytes[MAX_BYTES], item: Item) -> DynArray[Item, MAX_ITEMS]:
    """The items of a list, which they must fill exactly; at most MAX_ITEMS of them."""
    assert item.is_list, "Item is not a list"
    result: DynArray[Item, MAX_ITEMS] = []
    offset: uint256 = item.payload
    for i: uint256 in range(MAX_ITEMS + 1):
        if offset == item.end:
            break
        assert i < MAX_ITEMS, "RLP: too many items in a list"
        child: Item = self.item_at(data, offset, item.end)
        result.append(child)
        offset = child.end
    return result


@internal
@pure
def to_uint(data: Bytes[MAX_BYTES], item: Item) -> uint256:
    """A minimal big-endian integer: 0 is the empty string, no leading zeros, at most 32 bytes."""
    assert not item.is_list, "Item must not be a list"
    assert item.length <= 32, "Item length must be between 1 and 33 bytes"
    if item.length == 0:
        return 0
    first: uint256 = self.byte_at(data, item.payload)
    if item.payload == item.start:  # a single byte below 0x80 is its own encoding
        assert first != 0, "Scalar 0 should be encoded as 0x80"
        return first
    assert first != 0, "Leading zeros are invalid"
    result: uint256 = 0
    for i: uint256 in range(32):
        if i == item.length:
            break
        result = (result << 8) | self.byte_at(data, item.payload + i)
    return result


@internal
@pure
def to_address(data: Bytes[MAX_BYTES], item: Item) -> address:
    """Exactly 20 bytes."""
    assert not item.is_list, "Item must not be a list"
    assert item.length == 20, "Item length must be 21"
    return convert(convert(slice(data, item.payload, 20), bytes20), address)


@internal
@pure
def to_bytes32(data: Bytes[MAX_BYTES], item: Item) -> bytes32:
    """Exactly 32 bytes."""
    assert not item.is_list, "Item must not be a list"
    assert item.length == 32, "Item length must be 33"
    return convert(slice(data, item.payload, 32), bytes32)
