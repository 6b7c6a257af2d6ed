from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import torch

from rollbench import profiling


def _events(trace_dir: Path) -> list[dict]:
    traces = sorted(trace_dir.glob("*.json*"))
    assert len(traces) == 1, traces
    opener = gzip.open if traces[0].suffix == ".gz" else open
    with opener(traces[0], "rt") as f:
        return json.load(f)["traceEvents"]


def test_cpu_trace_holds_ops_and_range(tmp_path: Path) -> None:
    session = profiling.start(str(tmp_path), "unit", ["cpu"], record_shapes=True)
    rf = profiling.enter_range("rollbench.step")
    a = torch.ones(8, 8)
    torch.mm(a, a)
    profiling.exit_range(rf)
    session.stop()
    names = {e.get("name") for e in _events(tmp_path)}
    assert "aten::mm" in names
    assert "rollbench.step" in names


def test_npu_without_torch_npu_is_a_clear_error(tmp_path: Path) -> None:
    try:
        import torch_npu  # noqa: F401

        pytest.skip("torch_npu is installed here")
    except ImportError:
        pass
    with pytest.raises(profiling.ProfilerSetupError, match="needs torch_npu"):
        profiling.start(str(tmp_path), "unit", ["cpu", "npu"], npu_level="Level1")


def test_unknown_activity(tmp_path: Path) -> None:
    with pytest.raises(profiling.ProfilerSetupError, match="unknown profiler activities"):
        profiling.start(str(tmp_path), "unit", ["gpu"])


def test_flush_failure_raises(tmp_path: Path) -> None:
    trace_dir = tmp_path / "traces"
    trace_dir.mkdir()
    session = profiling.start(str(trace_dir), "unit", ["cpu"])
    torch.ones(4).sum()
    # The directory is gone and a file holds its name when the trace is
    # flushed: the handler cannot write, and stop() must say so.
    trace_dir.rmdir()
    trace_dir.write_text("")
    with pytest.raises(RuntimeError, match="traces"):
        session.stop()
