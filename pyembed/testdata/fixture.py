"""Python side of pyembed's tests."""

import time
from typing import Any


def echo(*args: Any, **kwargs: Any) -> Any:
    return {"args": list(args), "kwargs": kwargs}


def type_names(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: type_names(v) for k, v in value.items()}
    if isinstance(value, list):
        return [type_names(v) for v in value]
    return type(value).__name__


def fail_chained() -> None:
    try:
        {}["missing"]
    except KeyError as e:
        raise RuntimeError("engine broke") from e


class CustomError(Exception):
    pass


def fail_custom() -> None:
    raise CustomError("custom message")


def spin(seconds: float) -> float:
    """Busy Python code that an asynchronous exception can interrupt."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        time.sleep(0.001)
    return time.monotonic() - start


def block_on_queue() -> None:
    """Waits in a lock, where no asynchronous exception reaches: vLLM's
    get_output when its engine core has died."""
    import queue

    queue.Queue().get()


def swallow_then_block() -> None:
    """Swallows the first KeyboardInterrupt, as vLLM's zmq_socket_ctx does
    during the engine's handshake, then blocks in a lock."""
    import threading

    lock = threading.Lock()
    lock.acquire()
    try:
        lock.acquire()
    except KeyboardInterrupt:
        pass
    lock.acquire()


def sleep(seconds: float) -> None:
    """A wait that only signal handlers end (PyErr_CheckSignals), none of
    which this interpreter has."""
    time.sleep(seconds)


def write_until_full(fd: int, chunks: int) -> str:
    """Writes chunks of 1 KiB to fd, a non-blocking pipe, until it refuses one."""
    import os

    try:
        for _ in range(chunks):
            os.write(fd, b"x" * 1024)
    except BlockingIOError:
        return "refused"
    return "all written"
