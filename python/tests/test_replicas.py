from __future__ import annotations

import os

import psutil
import pytest

from rollbench import replicas


def node(resources: dict[str, float]) -> dict:
    return {"node_id": "n", "ip": "127.0.0.1", "resources": resources}


@pytest.mark.parametrize(
    ("nodes", "want", "tp", "counts"),
    [
        # One node before the next, as a job's node list is filled.
        ([node({"GPU": 8}), node({"GPU": 8})], 10, 1, [8, 2]),
        # A replica of TP 4 needs 4 devices of one node: 6 left on each
        # node hold one replica each.
        ([node({"GPU": 6}), node({"GPU": 6})], 2, 4, [1, 1]),
        ([node({"NPU": 8}), node({})], 2, 2, [2, 0]),
    ],
)
def test_plan_fills_nodes_in_order(nodes: list[dict], want: int, tp: int, counts: list[int]) -> None:
    resource = next(iter(nodes[0]["resources"]))
    assert replicas.plan(nodes, want, tp, resource) == counts


def test_plan_refuses_a_cluster_too_small() -> None:
    with pytest.raises(RuntimeError, match="has 6 GPU in all; 2 replicas of tensor parallel size 4 need 8"):
        replicas.plan([node({"GPU": 6})], 2, 4, "GPU")


def test_a_cluster_rollbench_starts_is_reachable_on_loopback_only() -> None:
    info = replicas.connect(None, 2, "cpu", {})
    try:
        assert info["started"] and info["address"].startswith("127.0.0.1:")
        assert os.environ["RAY_AUTH_MODE"] == "token" and len(os.environ["RAY_AUTH_TOKEN"]) == 64
        (only,) = info["nodes"]
        assert only["resources"][replicas.CPU_DEVICE] == 2
        ray_procs = psutil.Process().children(recursive=True)
        assert ray_procs, "ray.init started no processes"
        listening = [
            c.laddr
            for p in ray_procs
            for c in _connections(p)
            if c.status == psutil.CONN_LISTEN
        ]
        assert listening, "no Ray process listens"
        assert all(a.ip in ("127.0.0.1", "::ffff:127.0.0.1") for a in listening), listening
    finally:
        replicas.disconnect()
    assert not [p for p in ray_procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _connections(p: psutil.Process) -> list:
    try:
        return p.net_connections(kind="inet")
    except psutil.NoSuchProcess:
        return []
