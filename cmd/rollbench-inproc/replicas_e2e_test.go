//go:build e2e

package main

// The data-parallel step on real Ray and real vLLM CPU engines: a cluster
// rollbench starts, one it joins (two Ray nodes on this machine), and a
// replica killed mid-step.

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// replicaRollout is 4 prompts x n=2 of 32 prompt tokens on 2 replicas;
// the response lengths are each test's.
var replicaRollout = []string{"--data-parallel-size", "2", "--num-prompts", "4", "-n", "2", "--input-len", "32",
	"--enforce-eager", "--kv-cache-memory", "1GiB"}

// replicaFigures reads the per-replica part of a result.
type replicaFigures struct {
	samples, tokens []int
	makespans       []float64
	pids            []int
}

func readReplicas(t *testing.T, res map[string]any) replicaFigures {
	t.Helper()
	var f replicaFigures
	spread, _ := lookup(res, "replicas.spread.replicas").([]any)
	placed, _ := lookup(res, "replicas.placement.replicas").([]any)
	if len(spread) != 2 || len(placed) != 2 {
		t.Fatalf("replicas: %d in the spread, %d placed; want 2 each", len(spread), len(placed))
	}
	for i := range spread {
		r := spread[i].(map[string]any)
		f.samples = append(f.samples, int(r["samples"].(float64)))
		f.tokens = append(f.tokens, int(r["output_tokens"].(float64)))
		f.makespans = append(f.makespans, r["makespan_s"].(float64))
		f.pids = append(f.pids, int(placed[i].(map[string]any)["pid"].(float64)))
	}
	if f.pids[0] == f.pids[1] {
		t.Errorf("both replicas in process %d", f.pids[0])
	}
	step, _ := lookup(res, "replicas.spread.step_makespan_s").(float64)
	if m := math.Max(f.makespans[0], f.makespans[1]); !(m > 0 && m <= step) || step != lookup(res, "timings.generate_s") {
		t.Errorf("step %v s (generate %v s), replica makespans %v", step, lookup(res, "timings.generate_s"), f.makespans)
	}
	return f
}

// TestReplicasOnTinyModel runs DP=2 with split dispatch on a cluster
// rollbench starts: every sample accounted for, half on each replica,
// over two passes; the cluster on loopback and gone afterwards.
func TestReplicasOnTinyModel(t *testing.T) {
	mark := marker(t)
	out, logs := t.TempDir(), t.TempDir()
	r := runBinary(t, []string{mark}, append([]string{"--output-dir", out, "--log-dir", logs, "--name", "dp", "--repeat", "2", "--output-len", "16"}, replicaRollout...)...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s\nengine log:\n%s", r.code, r.stdout, lastLines(r.stderr, 40), lastLines(readFile(filepath.Join(logs, "dp.log")), 40))
	}
	assertNoSurvivors(t, mark)
	res := readResult(t, filepath.Join(out, "dp.json"))
	if got := lookup(res, "tokens.output_tokens"); got != float64(4*2*16) {
		t.Errorf("output tokens %v, want %d", got, 4*2*16)
	}
	f := readReplicas(t, res)
	for i := range 2 {
		// Split: 2 prompts x n=2 each, every sample 16 tokens.
		if f.samples[i] != 4 || f.tokens[i] != 64 {
			t.Errorf("replica %d: %d samples, %d tokens; want 4 and 64", i, f.samples[i], f.tokens[i])
		}
	}
	if addr, _ := lookup(res, "replicas.cluster.address").(string); !strings.HasPrefix(addr, "127.0.0.1:") || lookup(res, "replicas.cluster.started") != true {
		t.Errorf("cluster at %q, started %v: want one rollbench started on 127.0.0.1", addr, lookup(res, "replicas.cluster.started"))
	}
	if lookup(res, "replicas.dispatch") != "split" || lookup(res, "replicas.cluster.device_resource") != "rollbench_cpu_device" {
		t.Errorf("dispatch %v on %v", lookup(res, "replicas.dispatch"), lookup(res, "replicas.cluster.device_resource"))
	}
	reps, _ := res["repetitions"].([]any)
	if len(reps) != 2 {
		t.Fatalf("%d repetitions, want 2", len(reps))
	}
	for i, rep := range reps {
		if im, _ := rep.(map[string]any)["imbalance"].(float64); im < 1 {
			t.Errorf("repetition %d: imbalance %v, want at least 1", i, im)
		}
	}
	if kw, _ := lookup(res, "engine_kwargs.distributed_executor_backend").(string); kw != "" {
		t.Errorf("engine_kwargs carry the replicas' executor %q: they are the command line's", kw)
	}
}

// rayCluster is a Ray cluster of two nodes on this machine, started with
// `ray start` as a user would, on loopback with token authentication.
type rayCluster struct {
	address string
	env     []string
	mark    string
}

func startRayCluster(t *testing.T) *rayCluster {
	t.Helper()
	ray := filepath.Join(filepath.Dir(os.Getenv("ROLLBENCH_PYTHON")), "ray")
	c := &rayCluster{mark: marker(t)}
	port := freePort(t)
	c.address = fmt.Sprintf("127.0.0.1:%d", port)
	c.env = append([]string{c.mark}, "RAY_AUTH_MODE=token", "RAY_AUTH_TOKEN="+strings.Repeat("ab", 32), "RAY_USAGE_STATS_ENABLED=0")
	t.Cleanup(func() { killMarked(c.mark) })
	device := `--resources={"rollbench_cpu_device": 1}`
	c.run(t, ray, "start", "--head", "--node-ip-address=127.0.0.1", "--port="+strconv.Itoa(port), "--num-cpus=1", device,
		"--include-dashboard=false", "--disable-usage-stats")
	c.run(t, ray, "start", "--address="+c.address, "--node-ip-address=127.0.0.1", "--num-cpus=1", device, "--disable-usage-stats")
	return c
}

func (c *rayCluster) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), c.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, lastLines(string(out), 30))
	}
	return string(out)
}

// state asks the cluster, as a driver of its own, for its live nodes and
// what is left of rollbench's: actors alive and placement groups not
// removed.
func (c *rayCluster) state(t *testing.T) (nodes, actors, groups int) {
	t.Helper()
	script := `
import ray
ray.init(address=%q, log_to_driver=False)
from ray._private import state
nodes = sum(1 for n in ray.nodes() if n["Alive"])
actors = sum(1 for a in state.actors().values() if a["State"] != "DEAD")
groups = sum(1 for g in ray.util.placement_group_table().values() if g["state"] != "REMOVED")
print("state", nodes, actors, groups)
`
	out := c.run(t, os.Getenv("ROLLBENCH_PYTHON"), "-c", fmt.Sprintf(script, c.address))
	for _, line := range strings.Split(out, "\n") {
		if _, err := fmt.Sscanf(line, "state %d %d %d", &nodes, &actors, &groups); err == nil {
			return
		}
	}
	t.Fatalf("no state line:\n%s", out)
	return
}

// TestReplicasJoinACluster runs DP=2 with least-requests dispatch and
// lognormal response lengths across the two nodes of a cluster started
// outside rollbench: a replica on each node, every sample's length
// accounted for, replicas finishing apart (imbalance above 1, the slowest
// named), and the cluster left running with none of rollbench's actors,
// placement groups or engines.
func TestReplicasJoinACluster(t *testing.T) {
	c := startRayCluster(t)
	if nodes, _, _ := c.state(t); nodes != 2 {
		t.Fatalf("the cluster has %d live nodes, want 2", nodes)
	}
	out, logs := t.TempDir(), t.TempDir()
	args := append([]string{"--output-dir", out, "--log-dir", logs, "--name", "joined", "--ray-address", c.address,
		"--rollout-mode", "async", "--output-len-dist", "lognormal:12,0.6,32"}, replicaRollout...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r := runCommand(ctx, t, binary(t), c.env, args...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s\nengine log:\n%s", r.code, r.stdout, lastLines(r.stderr, 40), lastLines(readFile(filepath.Join(logs, "joined.log")), 40))
	}
	res := readResult(t, filepath.Join(out, "joined.json"))
	if lookup(res, "replicas.dispatch") != "least-requests" || lookup(res, "replicas.cluster.started") != false {
		t.Errorf("dispatch %v, started %v: want least-requests on a joined cluster", lookup(res, "replicas.dispatch"), lookup(res, "replicas.cluster.started"))
	}
	f := readReplicas(t, res)
	if f.samples[0]+f.samples[1] != 8 || f.samples[0] == 0 || f.samples[1] == 0 {
		t.Errorf("samples per replica %v, want 8 in all, some on each", f.samples)
	}
	// ignore_eos: every sample generates exactly the length it was drawn.
	var drawn float64
	for _, s := range lookup(res, "timeline.samples").([]any) {
		drawn += s.(map[string]any)["output_tokens"].(float64)
	}
	if got := float64(f.tokens[0] + f.tokens[1]); got != drawn || got != lookup(res, "tokens.output_tokens") {
		t.Errorf("replicas generated %v tokens, the timeline %v, the result %v", got, drawn, lookup(res, "tokens.output_tokens"))
	}
	if warns := fmt.Sprint(res["warnings"]); strings.Contains(warns, "did not generate the length") {
		t.Errorf("samples fell short of their lengths: %s", warns)
	}
	nodes := map[string]bool{}
	for _, p := range lookup(res, "replicas.placement.replicas").([]any) {
		nodes[p.(map[string]any)["node_id"].(string)] = true
	}
	if len(nodes) != 2 {
		t.Errorf("replicas on %d nodes, want one on each of 2", len(nodes))
	}
	slowest := int(lookup(res, "replicas.spread.slowest_replica").(float64))
	if im, _ := lookup(res, "replicas.spread.imbalance").(float64); !(im > 1) || f.makespans[slowest] < f.makespans[1-slowest] {
		t.Errorf("imbalance %v, slowest %d of makespans %v: want above 1 and the slower named", im, slowest, f.makespans)
	}
	if !strings.Contains(r.stdout, fmt.Sprintf("slowest replica %d", slowest)) {
		t.Errorf("the console does not name the slowest replica:\n%s", r.stdout)
	}
	nodesLeft, actors, groups := c.state(t)
	if nodesLeft != 2 || actors != 0 || groups != 0 {
		t.Errorf("after the run: %d live nodes, %d actors, %d placement groups; want 2, 0, 0", nodesLeft, actors, groups)
	}
	for _, s := range survivors(c.mark) {
		if strings.Contains(s, "Replica") || strings.Contains(s, "VLLM") {
			t.Errorf("left behind on the cluster: %s", s)
		}
	}
}

// TestReplicaKilledMidStep kills one replica's actor during the measured
// step: the run fails naming the replica, and nothing of it is left.
func TestReplicaKilledMidStep(t *testing.T) {
	args := append([]string{"--name", "dpkill"}, faultRollout...)
	f := startFault(t, append(args, "--data-parallel-size", "2")...)
	replica := f.killInGenerate("ray::Replica")
	f.failedResult("dpkill", fmt.Sprintf("(pid %d on 127.0.0.1) died during the step", replica.pid))
}

// TestSignalDuringReplicaStart sends SIGINT while the replicas load.
func TestSignalDuringReplicaStart(t *testing.T) {
	f := startFault(t, append([]string{"--name", "dpload", "--output-len", "16"}, replicaRollout...)...)
	f.waitLine("rollbench-inproc: phase load", 5*time.Minute)
	f.waitProc("ray::Replica", 3*time.Minute)
	time.Sleep(2 * time.Second)
	tree := f.tree()
	at := f.signal(syscall.SIGINT)
	if code := f.waitExit(at, stopWithin); code != 130 {
		t.Errorf("exit %d, want 130:\n%s", code, lastLines(f.output(), 20))
	}
	assertGone(t, tree, f.mark, 10*time.Second)
	f.failedResult("dpload", "interrupted by SIGINT during load")
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
