"""Describe the Python side of a run: the versions and the device vLLM sees.

rollbench records this with every result. An offline run calls describe() in
its embedded interpreter; an online run (and a binary built without the
interpreter) runs the chosen python as a child:

    python -m rollbench.environment

which prints the same dictionary as one line of JSON. Its keys are the result
file's own (sys.Environment's JSON tags in the Go code).
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any


def _optional_version(module: str) -> str | None:
    try:
        return importlib.import_module(module).__version__
    except ModuleNotFoundError:
        return None


def describe() -> dict[str, Any]:
    """Import vllm (which settles the platform) and report what it found.

    A missing vllm is not an exception: the caller names the interpreter in
    its message, so "vllm_missing" carries the import error's text.
    """
    out: dict[str, Any] = {"python": "%d.%d" % sys.version_info[:2]}
    try:
        import vllm
    except ModuleNotFoundError as e:
        out["vllm_missing"] = str(e)
        return out
    import torch

    out["vllm"] = str(vllm.__version__)
    out["torch"] = str(torch.__version__)
    for module in ("torch_npu", "vllm_ascend"):
        version = _optional_version(module)
        if version is not None:
            out[module] = str(version)

    from vllm.platforms import current_platform as platform

    out["platform"] = str(platform.device_name)
    out["device_name"] = str(platform.get_device_name())
    out["device_count"] = int(platform.device_count()) if hasattr(platform, "device_count") else 1

    from vllm import envs

    multiprocessing = envs.VLLM_ENABLE_V1_MULTIPROCESSING
    out["vllm_v1_multiprocessing"] = multiprocessing if isinstance(multiprocessing, bool) else False
    out["vllm_worker_multiproc_method"] = str(envs.VLLM_WORKER_MULTIPROC_METHOD)
    return out


def describe_json() -> str:
    return json.dumps(describe())


def main() -> int:
    # The last line of output is the description: an import may print first.
    print("\n" + describe_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
