"""The one error type of the proofs package."""


class DecodeError(ValueError):
    """Bytes that are not a valid encoding. `reason` is a stable machine-readable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
