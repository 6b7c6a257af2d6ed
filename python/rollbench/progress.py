"""Finished samples of a running LLM.generate, for rollbench's progress display.

LLM.generate(use_tqdm=SampleCounter(fd)) makes vLLM drive this class where
it would drive a tqdm bar. Each finished request adds its samples, and the
running count is written to fd, a pipe whose other end a Go goroutine reads:
the count reaches rollbench's display without Go taking the GIL while the
measured call runs. Go owns the pipe; this only writes to it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any, TypeVar, overload

T = TypeVar("T")


class SampleCounter:
    """Stands in for tqdm in LLM.generate's use_tqdm.

    vLLM calls it twice per generate: with an iterable of prompts to wrap
    while rendering them, which is returned untouched, and with total= for
    the bar of finished requests, which counts samples (vLLM updates it by
    each request's number of outputs).
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @overload
    def __call__(self, iterable: Iterable[T], **kwargs: Any) -> Iterable[T]: ...

    @overload
    def __call__(self, iterable: None = None, **kwargs: Any) -> Bar: ...

    def __call__(self, iterable: Iterable[T] | None = None, **kwargs: Any) -> Iterable[T] | Bar:
        if iterable is not None:
            return iterable
        return Bar(self.fd)


class Bar:
    """The part of tqdm's bar that vLLM's engine loop uses."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.n = 0
        self.postfix = ""
        self._start = time.monotonic()

    @property
    def format_dict(self) -> dict[str, float]:
        # vLLM divides by the elapsed time: never zero.
        return {"elapsed": max(time.monotonic() - self._start, 1e-9)}

    def update(self, n: int = 1) -> None:
        self.n += n
        try:
            os.write(self.fd, b"%d\n" % self.n)
        except BlockingIOError:
            # A full pipe, when Go reads slower than samples finish: the
            # next count carries this one.
            pass

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass
