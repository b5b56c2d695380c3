"""A Ray actor for the executor's own tests: light to import (no torch), one unit fails on its data."""

from __future__ import annotations


class Flaky:
    """Multiplies by ten; the unit holding 2 raises, as a bad row would."""

    def __init__(self, threads: int) -> None:
        self.threads = threads

    def ready(self) -> dict:
        return {"where": "test actor"}

    def work(self, x: int) -> int:
        if x == 2:
            raise ValueError("bad row 2")
        return x * 10
