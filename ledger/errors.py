"""`Rejected`: the one way a transition says no, with a stable machine-readable code."""


class Rejected(Exception):
    """An event that must not be applied. `code` is stable; `detail` is for people."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
