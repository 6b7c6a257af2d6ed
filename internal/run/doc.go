// Package run runs one experiment each: Offline (the rollout step submitted
// to vllm.LLM in-process), Online (`vllm serve` driven by rollbench's client),
// Session (a scripted profiling session on a loaded engine) and Matrix (a
// list of experiments, each in a child process of its own). Every runner
// returns, or writes, the result record of what it ran, complete or not.
package run
