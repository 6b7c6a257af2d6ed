"""The direct profiler: torch.profiler (or torch_npu.profiler) around a call
that rollbench times from Go, in the interpreter that embeds the engine.

Go calls start() before the profiled generate and stop() after it; ranges
(torch.profiler.record_function) are entered and exited around steps of a
profiling session. Every option arrives already validated by Go, but names
are checked again here against what the installed torch_npu really has.
"""

from __future__ import annotations

import importlib
from typing import Any

import torch

ACTIVITIES: tuple[str, ...] = ("cpu", "cuda", "npu")


class ProfilerSetupError(RuntimeError):
    """The requested profiler cannot run in this environment."""


def _torch_npu() -> Any:
    try:
        return importlib.import_module("torch_npu")
    except ImportError as e:
        raise ProfilerSetupError(
            f"NPU profiling needs torch_npu, which this interpreter cannot import ({e})"
        ) from None


def _member(enum: Any, kind: str, name: str) -> Any:
    if not hasattr(enum, name):
        raise ProfilerSetupError(f"torch_npu has no {kind} {name!r}")
    return getattr(enum, name)


class Session:
    """One started profiler and where it writes."""

    def __init__(self, prof: Any, trace_dir: str, npu: bool) -> None:
        self.prof = prof
        self.trace_dir = trace_dir
        self.npu = npu

    def stop(self) -> None:
        """Stop and flush the trace; on NPU, also run torch_npu's offline
        analysis, which turns the raw data into the trace_view.json a viewer
        opens."""
        self.prof.stop()
        if self.npu:
            analyse = importlib.import_module("torch_npu.profiler.profiler").analyse
            analyse(profiler_path=self.trace_dir)


def start(
    trace_dir: str,
    worker_name: str,
    activities: list[str],
    record_shapes: bool = False,
    with_stack: bool = False,
    npu_level: str = "",
    aic_metrics: str = "",
) -> Session:
    """Start a profiler that writes one Chrome trace into trace_dir."""
    unknown = [a for a in activities if a not in ACTIVITIES]
    if unknown or not activities:
        raise ProfilerSetupError(f"unknown profiler activities {unknown or activities}")
    if "npu" in activities:
        npu = _torch_npu().profiler
        acts = [_member(npu.ProfilerActivity, "activity", a.upper()) for a in activities]
        config: dict[str, Any] = {}
        if npu_level:
            config["profiler_level"] = _member(npu.ProfilerLevel, "profiler level", npu_level)
        if aic_metrics:
            config["aic_metrics"] = _member(npu.AiCMetrics, "AIC metrics", aic_metrics)
        prof = npu.profile(
            activities=acts,
            record_shapes=record_shapes,
            with_stack=with_stack,
            experimental_config=npu._ExperimentalConfig(**config),
            on_trace_ready=npu.tensorboard_trace_handler(trace_dir, worker_name=worker_name, analyse_flag=False),
        )
        session = Session(prof, trace_dir, npu=True)
    else:
        if npu_level or aic_metrics:
            raise ProfilerSetupError("npu_level and aic_metrics need the npu activity")
        acts = [getattr(torch.profiler.ProfilerActivity, a.upper()) for a in activities]
        prof = torch.profiler.profile(
            activities=acts,
            record_shapes=record_shapes,
            with_stack=with_stack,
            on_trace_ready=torch.profiler.tensorboard_trace_handler(trace_dir, worker_name=worker_name),
        )
        session = Session(prof, trace_dir, npu=False)
    prof.start()
    return session


def enter_range(name: str) -> Any:
    """Open a named range in the running profiler's trace."""
    rf = torch.profiler.record_function(name)
    rf.__enter__()
    return rf


def exit_range(rf: Any) -> None:
    rf.__exit__(None, None, None)
