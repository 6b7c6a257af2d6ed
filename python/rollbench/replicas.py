"""The rollout replicas of a data-parallel step, on Ray, driven from
rollbench's embedded interpreter (the Ray driver).

Placement follows verl's RayResourcePool.get_placement_groups
(`verl/single_controller/ray/base.py`): one STRICT_PACK placement group per
node, one bundle per replica of {CPU, device: TP}. Each replica is a Ray
actor that runs vLLM's AsyncLLM with the multiprocessing executor, as
verl's vLLMHttpServer does (`verl/workers/rollout/vllm_rollout/vllm_async_server.py`).

The driver hands the step out in one of verl's two ways (`step`): `split`,
the legacy synchronous rollout's even chunks by DP rank, or
`least-requests`, the agent loop's routing of every sample to the replica
with the fewest in flight (`verl/experimental/agent_loop/agent_loop.py`).
Times are the driver's: when it handed a request over and when its result
came back; a replica reports only spans of its own (first token to
finish), so no clocks of two machines are compared.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

# Stands in for a GPU or NPU on a CPU host: Ray counts it like one, and
# nothing else asks for it.
CPU_DEVICE = "rollbench_cpu_device"

# Ray's name for each accelerator in a resource request.
DEVICE_RESOURCES = {"cpu": CPU_DEVICE, "cuda": "GPU", "npu": "NPU"}


@dataclass
class Request:
    """One request of the step: a prompt and its sampling (n samples)."""

    prompt: list[int]
    sampling: dict[str, Any]


@dataclass
class Completion:
    """What a replica reports of one sample."""

    output_tokens: int
    finish_reason: str
    # Seconds from the sample's first token to its last, and from its last
    # to the replica's return of the call that carried it.
    first_to_finish_s: float
    finish_to_return_s: float


class Replica:
    """One rollout engine, a Ray actor (see `start`)."""

    def __init__(self) -> None:
        self.engine: Any = None

    async def load(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        import ray

        start = time.monotonic()
        self.engine = AsyncLLM.from_engine_args(AsyncEngineArgs(**kwargs))
        ctx = ray.get_runtime_context()
        return {
            "pid": os.getpid(),
            "node_id": ctx.get_node_id(),
            "node_ip": ray.util.get_node_ip_address(),
            "load_s": time.monotonic() - start,
        }

    async def vocabulary(self) -> tuple[int, list[int]]:
        tok = self.engine.tokenizer
        return len(tok), list(tok.all_special_ids)

    async def generate(self, requests: list[Request]) -> tuple[float, list[list[Completion]]]:
        """Runs requests at once, like one LLM.generate over them, and
        returns how long that took and every request's completions in
        order."""
        start = time.monotonic()
        results = await asyncio.gather(*(self._one(r) for r in requests))
        end = time.monotonic()
        return end - start, [
            [Completion(n, reason, finish - first, end - finish) for n, reason, first, finish in r] for r in results
        ]

    async def _one(self, r: Request) -> list[tuple[int, str, float, float]]:
        """One request's completions with the engine core's stamps of the
        steps that produced their first and last tokens (its
        time.monotonic, this host's clock). Like LLM.generate, it takes
        only the final output: streaming every step's would put a Python
        wake-up per request per step beside the engine on the replica's
        cores. With n > 1 vLLM stamps the request, from its last sample."""
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        params = SamplingParams(**r.sampling, output_kind=RequestOutputKind.FINAL_ONLY)
        final = None
        async for out in self.engine.generate({"prompt_token_ids": r.prompt}, params, uuid.uuid4().hex):
            final = out
        if final is None:
            raise RuntimeError("the engine returned no output")
        stats = final.metrics
        if stats is None or not getattr(stats, "last_token_ts", 0):
            raise RuntimeError("the engine reported no per-request timings (is disable_log_stats set in the engine arguments?)")
        return [
            (len(c.token_ids), str(c.finish_reason), stats.first_token_ts, stats.last_token_ts) for c in final.outputs
        ]

    async def shutdown(self) -> None:
        if self.engine is not None:
            self.engine.shutdown()
            self.engine = None


@dataclass
class Replicas:
    """The step's replicas and what rollbench made to hold them."""

    actors: list[Any]
    groups: list[Any]
    # started is True when rollbench started the cluster (and so ends it).
    started: bool
    loads: list[dict[str, Any]] = field(default_factory=list)

    def describe(self, i: int) -> str:
        if i < len(self.loads):
            return f"pid {self.loads[i]['pid']} on {self.loads[i]['node_ip']}"
        return "not started"


class ReplicaDied(RuntimeError):
    """A replica's actor died while the step waited on it."""


def connect(address: str | None, devices: int, device: str, env: dict[str, str]) -> dict[str, Any]:
    """Starts a cluster of this machine alone (address None) or joins the one
    at address. A cluster rollbench starts listens on 127.0.0.1, runs no
    dashboard, and keeps Ray's token authentication on with a token of its
    own, so that nobody else on the network reaches it."""
    if address is None:
        os.environ["RAY_AUTH_MODE"] = "token"
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
        # Ray's switch for a cluster of one machine: its processes bind
        # 127.0.0.1 instead of the host's address
        # (ray/_private/services.py, get_node_ip_address).
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        if "ray" in sys.modules:
            _reread_settings()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    start = time.monotonic()
    opts: dict[str, Any] = {
        "namespace": f"rollbench-{uuid.uuid4().hex[:12]}",
        "include_dashboard": False,
        "log_to_driver": False,
        "runtime_env": {"env_vars": env, "py_modules": [_package_dir()]},
    }
    if address is None:
        opts.update(address="local", _node_ip_address="127.0.0.1")
        # Ray counts GPUs and NPUs itself; a CPU host offers the stand-in.
        if device == "cpu":
            opts["resources"] = {CPU_DEVICE: devices}
    else:
        opts["address"] = address
    ray.init(**opts)
    return {
        "started": address is None,
        "address": ray.get_runtime_context().gcs_address,
        "device_resource": DEVICE_RESOURCES[device],
        "connect_s": time.monotonic() - start,
        "nodes": [
            {"node_id": n["NodeID"], "ip": n["NodeManagerAddress"], "resources": n["Resources"]}
            for n in ray.nodes()
            if n["Alive"]
        ],
    }


def _reread_settings() -> None:
    """Makes an already imported ray see the settings just made: it reads
    them once, at import. The token mode and token are re-read as ray's own
    _enable_token_auth does (ray/_private/authentication/authentication_token_setup.py);
    the cluster switch is a constant of ray_constants."""
    from ray._private import ray_constants
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()
    ray_constants.ENABLE_RAY_CLUSTER = False


def _package_dir() -> str:
    return os.path.dirname(os.path.abspath(__file__))


def plan(nodes: list[dict[str, Any]], replicas: int, tp: int, resource: str) -> list[int]:
    """How many replicas each node takes, in node order, filling one node
    before the next the way a job's node list is filled. It fails when the
    cluster has too few devices."""
    counts: list[int] = []
    left = replicas
    for n in nodes:
        take = min(left, int(n["resources"].get(resource, 0)) // tp)
        counts.append(take)
        left -= take
    if left > 0:
        have = sum(int(n["resources"].get(resource, 0)) for n in nodes)
        raise RuntimeError(
            f"the cluster has {have} {resource} in all; {replicas} replicas of tensor parallel size {tp} need {replicas * tp}"
        )
    return counts


def start(
    info: dict[str, Any], replicas: int, tp: int, device: str, kwargs: dict[str, Any], cpus: float
) -> tuple[Replicas, dict[str, Any]]:
    """Places the replicas, a placement group per node that holds any, and
    loads an engine in each. It returns them with the time each part took."""
    import ray
    from ray.util.placement_group import placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    resource = DEVICE_RESOURCES[device]
    counts = plan(info["nodes"], replicas, tp, resource)
    t0 = time.monotonic()
    rep = Replicas(actors=[], groups=[], started=info["started"])
    bundle = {"CPU": cpus, resource: tp}
    try:
        for node, count in zip(info["nodes"], counts):
            if count == 0:
                continue
            # verl names no node in its groups: STRICT_PACK puts each on a
            # node with room. Naming it keeps the order of the node list.
            pg = placement_group(
                [dict(bundle) for _ in range(count)],
                strategy="STRICT_PACK",
                _soft_target_node_id=node["node_id"],
            )
            rep.groups.append(pg)
        ray.get([pg.ready() for pg in rep.groups])
        placed = time.monotonic()
        cls = ray.remote(Replica)
        for pg, count in zip(rep.groups, [c for c in counts if c]):
            for i in range(count):
                rep.actors.append(
                    cls.options(
                        num_cpus=cpus,
                        resources={resource: tp} if resource != "GPU" else None,
                        num_gpus=tp if resource == "GPU" else None,
                        max_concurrency=100_000,
                        scheduling_strategy=PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=i),
                    ).remote()
                )
        rep.loads = ray.get([a.load.remote(kwargs) for a in rep.actors])
    except BaseException:
        # Quickly, within an interrupt's grace: the driver leaves the
        # cluster after (disconnect).
        _remove(rep)
        raise
    return rep, {"place_s": placed - t0, "start_s": time.monotonic() - placed, "replicas": rep.loads}


def vocabulary(rep: Replicas) -> tuple[int, list[int]]:
    import ray

    return ray.get(rep.actors[0].vocabulary.remote())


def step(rep: Replicas, requests: list[tuple[list[int], dict[str, Any]]], assign: list[int] | None) -> dict[str, Any]:
    """Runs the step: with assign, request i goes to replica assign[i], each
    replica's share in one call (split); without, every request is its own
    call to the replica with the fewest in flight (least-requests). Each
    sample comes back with its replica and, in seconds after the first
    hand-over, its first token and finish as the driver places them."""
    return asyncio.run(_step(rep, [Request(p, sp) for p, sp in requests], assign))


async def _step(rep: Replicas, requests: list[Request], assign: list[int] | None) -> dict[str, Any]:
    t0 = time.monotonic()
    out: list[Any] = [None] * len(requests)
    where = [0] * len(requests)
    # What Ray adds to each call: the driver's wait for it less the
    # replica's own time in it.
    overhead: list[float] = []
    last_sent = 0.0

    def place(idx: list[int], replica: int, done: list[list[Completion]]) -> None:
        back = time.monotonic() - t0
        for i, comps in zip(idx, done):
            where[i] = replica
            out[i] = [
                {
                    "output_tokens": c.output_tokens,
                    "finish_reason": c.finish_reason,
                    "finish_s": back - c.finish_to_return_s,
                    "first_token_s": back - c.finish_to_return_s - c.first_to_finish_s,
                }
                for c in comps
            ]

    async def call(replica: int, idx: list[int]) -> None:
        from ray.exceptions import RayActorError

        nonlocal last_sent
        sent = time.monotonic()
        ref = rep.actors[replica].generate.remote([requests[i] for i in idx])
        last_sent = time.monotonic() - t0
        try:
            span, done = await ref
        except RayActorError as e:
            raise ReplicaDied(f"replica {replica} ({rep.describe(replica)}) died during the step: {e}") from None
        overhead.append(time.monotonic() - sent - span)
        place(idx, replica, done)

    if assign is not None:
        shares: dict[int, list[int]] = {}
        for i, a in enumerate(assign):
            shares.setdefault(a, []).append(i)
        await _gather([call(a, idx) for a, idx in sorted(shares.items())])
    else:
        in_flight = [0] * len(rep.actors)

        async def routed(i: int) -> None:
            replica = min(range(len(in_flight)), key=in_flight.__getitem__)
            in_flight[replica] += 1
            try:
                await call(replica, [i])
            finally:
                in_flight[replica] -= 1

        await _gather([routed(i) for i in range(len(requests))])
    return {
        "elapsed_s": time.monotonic() - t0,
        "replica": where,
        "completions": out,
        "handout_s": last_sent,
        "call_overhead_s": overhead,
    }


async def _gather(calls: list[Any]) -> None:
    """Awaits every call; the first failure cancels the rest and is raised."""
    tasks = [asyncio.ensure_future(c) for c in calls]
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()


def close(rep: Replicas) -> None:
    """Shuts every engine down and removes rollbench's actors and placement
    groups; a cluster rollbench started is ended, one it joined is left up."""
    import ray

    if not ray.is_initialized():
        return
    deadline = time.monotonic() + 20
    for ref in [a.shutdown.remote() for a in rep.actors]:
        try:
            ray.get(ref, timeout=max(0.0, deadline - time.monotonic()))
        except Exception:
            pass  # a dead or stuck replica cannot shut down; it is killed below
    _remove(rep)
    ray.shutdown()


def _remove(rep: Replicas) -> None:
    """Kills rollbench's actors and removes its placement groups."""
    import ray

    for a in rep.actors:
        ray.kill(a)
    for pg in rep.groups:
        ray.util.remove_placement_group(pg)
    rep.actors, rep.groups = [], []


def disconnect() -> None:
    """Leaves the cluster (ending it if rollbench started it)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
