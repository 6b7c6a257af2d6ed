import os
import subprocess
import sys
import textwrap

import pytest

# A reference cycle whose destructor writes a file: an interpreter's
# finalization collects the cycle, and runs the destructor, unless the heap
# is frozen at exit. Collection stays enabled (finalization collects only
# then while builtins still exist), but never starts on its own before.
CYCLE = textwrap.dedent(
    """
    import gc

    class Cycle:
        def __del__(self):
            open(self.path, "w").close()

    def leave_cycle(path):
        gc.set_threshold(1_000_000_000)
        c = Cycle()
        c.path, c.me = path, c
    """
)

# A parent like rollbench's embedded interpreter (python -c has no main
# module file or name either) leaves a cycle and spawns a child that leaves
# one.
PARENT = textwrap.dedent(
    """
    import multiprocessing, sys
    from cycle import leave_cycle
    from rollbench import fastexit
    marker, mode = sys.argv[1:]
    if mode == "install":
        fastexit.install()
        fastexit.install()
    leave_cycle(marker + ".parent")
    p = multiprocessing.get_context("spawn").Process(target=leave_cycle, args=(marker + ".child",))
    p.start()
    p.join()
    sys.exit(p.exitcode)
    """
)


@pytest.fixture
def collected(tmp_path):
    (tmp_path / "cycle.py").write_text(CYCLE)

    def run(mode):
        marker = tmp_path / mode
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
        subprocess.run([sys.executable, "-c", PARENT, str(marker), mode], check=True, env=env, timeout=120)
        return {who for who in ("parent", "child") if (tmp_path / f"{mode}.{who}").exists()}

    return run


def test_install_freezes_the_heap_at_exit_here_and_in_spawned_children(collected):
    assert collected("plain") == {"parent", "child"}, "without install, finalization collects both cycles"
    assert collected("install") == set(), "after install, finalization still walked a heap"


def test_install_keeps_a_main_module_of_the_user(monkeypatch):
    from rollbench import fastexit

    main = sys.modules["__main__"]
    monkeypatch.setattr(main, "__file__", "/somewhere/script.py", raising=False)
    before = getattr(main, "__spec__", None)
    fastexit.install()
    assert getattr(main, "__spec__", None) is before
