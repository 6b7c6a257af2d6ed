"""Exit without walking the heap: in rollbench's embedded interpreter and
in the processes vLLM spawns from it (engine core, workers).

A Python process that ends normally finalizes its interpreter, which walks
and frees the whole heap: an engine leaves about 700,000 objects in each
of its processes, and the walk takes about 2 s apiece on a 2-core CPU host
with the tiny model. The engine's shutdown waits for its worker's and then
its engine core's, one after the other (4.5-5.0 s of shutdown, the same in
a plain Python script, and past vLLM's 5 s limit its SIGKILL), and the run
waits for its own interpreter's before it prints its summary (1.7-2.0 s).

gc.freeze() as an exit handler spares the walk: frozen objects are left to
the process exit to reclaim, as a forked child's os._exit leaves
everything, and as vLLM does itself in the engine core on ROCm. The exit
handlers all still run, and the engine has written what it must (profiler
traces, at stop_profile or in the worker's shutdown) before its process
starts to exit; only the destructors of objects caught in reference cycles
are skipped.

The spawn start method runs the parent's main module again in every
child, as __mp_main__, before it unpickles what the child is to run:
install() makes this module the main module of the embedded interpreter,
so the engine core runs it, and its workers through the engine core.
"""

from __future__ import annotations

import atexit
import gc
import importlib.util
import sys


def install() -> None:
    """Freeze this interpreter's heap at exit, and that of the children it
    spawns from now on.

    A main module that already has a name or a file (a script, python -m)
    is the user's and stays; its children exit as they would.
    """
    # Once however often the engine is opened.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is None and getattr(main, "__file__", None) is None:
        main.__spec__ = importlib.util.find_spec(__name__)


if __name__ == "__mp_main__":
    atexit.register(gc.freeze)
