// Package workload describes the rollout being measured: verl's per-device
// GRPO generation step (B prompts x n samples submitted together) and the
// engine configuration it runs on. It validates both before anything is
// loaded and draws the prompts, so every engine and every quantization sees
// the same token ids.
package workload

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/rollbench/rollbench/workload/dataset"
)

// Quantization names the checkpoint variant being measured.
type Quantization string

// The variants the original toolkit compares.
const (
	BF16  Quantization = "bf16"
	W8A16 Quantization = "w8a16"
	W8A8  Quantization = "w8a8"
)

// Quantizations lists the known variants, BF16 (the baseline) first.
var Quantizations = []Quantization{BF16, W8A16, W8A8}

// ParseQuantization accepts a variant name in any case.
func ParseQuantization(s string) (Quantization, error) {
	q := Quantization(strings.ToLower(s))
	if !slices.Contains(Quantizations, q) {
		return "", fmt.Errorf("unknown quantization %q (want one of %s)", s, joinQuants())
	}
	return q, nil
}

func joinQuants() string {
	names := make([]string, len(Quantizations))
	for i, q := range Quantizations {
		names[i] = string(q)
	}
	return strings.Join(names, ", ")
}

// Rollout is one generation step as the trainer issues it.
type Rollout struct {
	NumPrompts int `json:"num_prompts"`
	// N is the number of samples per prompt (GRPO's group size).
	N         int `json:"n"`
	InputLen  int `json:"input_len"`
	OutputLen int `json:"output_len"`
	// Seed fixes the prompts and the sampling.
	Seed int `json:"seed"`
	// WarmupPrompts is the size of the untimed generate that runs first
	// (with the same n and lengths); 0 skips it.
	WarmupPrompts int `json:"warmup_prompts"`
	// Dataset, when set, supplies the prompts in place of random token ids;
	// InputLen is then the most tokens a prompt may have (verl's
	// max_prompt_length).
	Dataset *Dataset `json:"dataset,omitempty"`
	// Repeat is how many times the measured generate runs; a result file
	// without it ran once. With TargetCI it is the most passes.
	Repeat int `json:"repeat,omitempty"`
	// TargetCI, when set (--repeat auto), stops the passes once the
	// headline interval's half width is within this share of its figure
	// (metrics.Sequential).
	TargetCI float64 `json:"target_ci,omitempty"`
	// FreshEngine loads a new engine (and warms it up) for every
	// repetition instead of reusing one.
	FreshEngine bool `json:"fresh_engine,omitempty"`
	// Mode is how the step's requests reach the engine; empty means sync.
	Mode Mode `json:"rollout_mode,omitempty"`
	// Lengths, when set, gives every sample a response length of its own,
	// drawn with Seed; OutputLen is then its longest.
	Lengths *LengthDist `json:"output_len_dist,omitempty"`
	// EOS lets samples stop at end of sequence instead of generating their
	// whole length (no ignore_eos).
	EOS bool `json:"eos,omitempty"`
	// VerlMaxTokens caps each sample's max_tokens with verl's rule (see
	// VerlMaxTokens) and cuts responses to OutputLen.
	VerlMaxTokens bool `json:"verl_max_tokens,omitempty"`
	// Preset names the engine defaults the run took, such as verl-async.
	Preset string `json:"preset,omitempty"`
}

// Dataset is a file of real prompts and how overlong ones are treated.
type Dataset struct {
	Path string `json:"path"`
	dataset.Handling
}

// Mode is the shape in which a step's requests reach the engine.
type Mode string

// The rollout modes.
const (
	// Sync is the legacy verl rollout: one LLM.generate with n per prompt.
	Sync Mode = "sync"
	// Async is current verl's: every sample its own request with n 1, all
	// submitted to the engine at once.
	Async Mode = "async"
)

// SampleLengths is every sample's response length, prompt by prompt (the
// n samples of prompt 0 first, as verl repeats prompts): all OutputLen
// unless Lengths is set.
func (r Rollout) SampleLengths() []int {
	if r.Lengths != nil {
		return r.Lengths.Sample(r.Seed, r.Sequences())
	}
	lengths := make([]int, r.Sequences())
	for i := range lengths {
		lengths[i] = r.OutputLen
	}
	return lengths
}

// VerlMaxTokens is verl's max_tokens for a prompt of promptLen tokens when
// the trainer sets none (verl/workers/rollout/vllm_rollout/vllm_async_server.py,
// vLLMHttpServer.generate): prompt_length + response_length - len(prompt),
// clamped to [0, max_model_len - len(prompt)]; verl then cuts the response
// to response_length. With prompts of exactly InputLen tokens it is OutputLen.
func VerlMaxTokens(promptLen, promptLength, responseLength, maxModelLen int) int {
	return max(0, min(promptLength+responseLength-promptLen, maxModelLen-promptLen))
}

// Sequences is the number of samples the step waits for.
func (r Rollout) Sequences() int { return r.NumPrompts * r.N }

// Engine is the vLLM configuration, as the trainer sets it up.
type Engine struct {
	Model string       `json:"model"`
	Quant Quantization `json:"quant"`
	// TensorParallelSize is the number of devices one engine spans.
	TensorParallelSize int    `json:"tensor_parallel_size"`
	Dtype              string `json:"dtype"`
	// GPUMemoryUtilization is the share of device memory the engine may
	// take; verl leaves the rest to the trainer.
	GPUMemoryUtilization float64 `json:"gpu_memory_utilization"`
	// KVCacheMemoryBytes, when set, sizes the KV cache directly and
	// overrides GPUMemoryUtilization.
	KVCacheMemoryBytes int64 `json:"kv_cache_memory_bytes,omitempty"`
	MaxNumSeqs         int   `json:"max_num_seqs"`
	MaxModelLen        int   `json:"max_model_len"`
	EnforceEager       bool  `json:"enforce_eager"`
	Seed               int   `json:"seed"`
	// Args are further LLM(...) arguments (a model's or a checkpoint's own,
	// such as quantization: ascend), under vLLM's names. They override the
	// fields above.
	Args map[string]any `json:"engine_args,omitempty"`
}

// Spec is everything one experiment runs.
type Spec struct {
	Rollout Rollout `json:"rollout"`
	Engine  Engine  `json:"engine"`
	// Replicas, when set, runs the step on DataParallelSize engines on Ray
	// instead of one in rollbench's process; NumPrompts is then the whole
	// step's (verl's train_batch_size).
	Replicas *Replicas `json:"replicas,omitempty"`
}

// Replicas is a data-parallel step: engines of Engine.TensorParallelSize
// devices each, as Ray actors, the step handed out between them.
type Replicas struct {
	DataParallelSize int      `json:"data_parallel_size"`
	Dispatch         Dispatch `json:"dispatch"`
	// RayAddress is a running cluster's to join; empty starts one of this
	// machine alone.
	RayAddress string `json:"ray_address,omitempty"`
}

// Dispatch is how a data-parallel step is handed out.
type Dispatch string

// verl's two ways.
const (
	// Split is the legacy synchronous rollout's: the prompts chunked evenly
	// by DP rank, each replica one generate over its chunk.
	Split Dispatch = "split"
	// LeastRequests is the agent loop's: every sample its own request, to
	// the replica with the fewest in flight.
	LeastRequests Dispatch = "least-requests"
)

// Dispatches lists them, the default first.
var Dispatches = []Dispatch{Split, LeastRequests}

// Chunks gives each of prompts prompts its DP rank under Split: contiguous
// chunks whose sizes differ by at most one, the larger first.
func Chunks(prompts, dp int) []int {
	rank := make([]int, prompts)
	base, extra := prompts/dp, prompts%dp
	i := 0
	for r := range dp {
		size := base
		if r < extra {
			size++
		}
		for range size {
			rank[i] = r
			i++
		}
	}
	return rank
}

// Default is verl's legacy per-device rollout: train batch 256 prompts x n=8
// over 8 devices, so 32 prompts x 8 samples per engine.
func Default() Spec {
	return Spec{
		Rollout: Rollout{NumPrompts: 32, N: 8, InputLen: 512, OutputLen: 256, WarmupPrompts: 1, Repeat: 1},
		Engine: Engine{
			Quant:                BF16,
			TensorParallelSize:   1,
			Dtype:                "bfloat16",
			GPUMemoryUtilization: 0.4,
			MaxNumSeqs:           1024,
			MaxModelLen:          768,
		},
	}
}

// Validate reports every problem with the spec at once, each naming the
// flag that sets it. The model directory is CheckModel's to judge.
func (s Spec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	r, e := s.Rollout, s.Engine
	atLeast := func(flag string, v, min int) {
		if v < min {
			bad("%s must be at least %d, got %d", flag, min, v)
		}
	}
	atLeast("--num-prompts", r.NumPrompts, 1)
	atLeast("-n", r.N, 1)
	atLeast("--input-len", r.InputLen, 1)
	atLeast("--output-len", r.OutputLen, 1)
	atLeast("--warmup-prompts", r.WarmupPrompts, 0)
	atLeast("--repeat", r.Repeat, 1)
	if r.Dataset != nil && !slices.Contains(dataset.Truncations, r.Dataset.Truncation) {
		bad("--truncation must be one of error, left, right or middle, got %q", r.Dataset.Truncation)
	}
	if _, err := ParseQuantization(string(e.Quant)); err != nil {
		bad("--quant: %v", err)
	}
	atLeast("--tensor-parallel-size", e.TensorParallelSize, 1)
	if !slices.Contains(dtypes, e.Dtype) {
		bad("--dtype must be one of %s, got %q", strings.Join(dtypes, ", "), e.Dtype)
	}
	if !(e.GPUMemoryUtilization > 0 && e.GPUMemoryUtilization <= 1) {
		bad("--gpu-mem-util must be in (0, 1], got %g", e.GPUMemoryUtilization)
	}
	if e.KVCacheMemoryBytes < 0 {
		bad("--kv-cache-memory must not be negative, got %d", e.KVCacheMemoryBytes)
	}
	atLeast("--max-num-seqs", e.MaxNumSeqs, 1)
	atLeast("--max-model-len", e.MaxModelLen, 1)
	outputFlag := fmt.Sprintf("--output-len %d", r.OutputLen)
	if r.Lengths != nil {
		outputFlag = fmt.Sprintf("--output-len-dist %s (longest %d)", r.Lengths.Spec, r.OutputLen)
	}
	if e.MaxModelLen >= 1 && r.InputLen > 0 && r.OutputLen > 0 && r.InputLen+r.OutputLen > e.MaxModelLen {
		bad("--input-len %d + %s = %d exceeds --max-model-len %d",
			r.InputLen, outputFlag, r.InputLen+r.OutputLen, e.MaxModelLen)
	}
	if r.Mode != "" && r.Mode != Sync && r.Mode != Async {
		bad("--rollout-mode must be %s or %s, got %q", Sync, Async, r.Mode)
	}
	if p := s.Replicas; p != nil {
		atLeast("--data-parallel-size", p.DataParallelSize, 1)
		if !slices.Contains(Dispatches, p.Dispatch) {
			bad("--dispatch must be %s or %s, got %q", Split, LeastRequests, p.Dispatch)
		}
		if p.Dispatch == Split && p.DataParallelSize > r.NumPrompts {
			bad("--dispatch split gives each of --data-parallel-size %d replicas a share of --num-prompts %d: give at least as many prompts", p.DataParallelSize, r.NumPrompts)
		}
	}
	if r.Lengths != nil && r.Lengths.Max != r.OutputLen {
		bad("--output-len %d differs from --output-len-dist %s's longest length %d", r.OutputLen, r.Lengths.Spec, r.Lengths.Max)
	}
	return errors.Join(errs...)
}

// dtypes are the values vLLM's dtype argument takes.
var dtypes = []string{"auto", "bfloat16", "float16", "float32", "half", "float"}

// Prompts draws NumPrompts prompts of exactly InputLen token ids from
// [0, vocabSize), leaving out the ids in skip (special tokens such as EOS,
// which would give prompts a structure random text does not have). The draw
// depends only on the seed, the vocabulary and skip.
func (r Rollout) Prompts(vocabSize int, skip []int) ([][]int, error) {
	return draw(r.Seed, r.NumPrompts, r.InputLen, vocabSize, skip)
}

// WarmupPromptSet draws the warm-up prompts from a stream of their own, so
// that changing the warm-up never changes the measured prompts.
func (r Rollout) WarmupPromptSet(vocabSize int, skip []int) ([][]int, error) {
	return draw(r.Seed+1<<32, r.WarmupPrompts, r.InputLen, vocabSize, skip)
}

func draw(seed, count, length, vocabSize int, skip []int) ([][]int, error) {
	skipped := make(map[int]bool, len(skip))
	for _, id := range skip {
		skipped[id] = true
	}
	allowed := make([]int, 0, vocabSize)
	for id := range vocabSize {
		if !skipped[id] {
			allowed = append(allowed, id)
		}
	}
	if len(allowed) == 0 {
		return nil, fmt.Errorf("vocabulary of %d tokens has no ids left once %d special ids are skipped", vocabSize, len(skip))
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x726f6c6c62656e63)) // "rollbenc"
	prompts := make([][]int, count)
	for i := range prompts {
		p := make([]int, length)
		for j := range p {
			p[j] = allowed[rng.IntN(len(allowed))]
		}
		prompts[i] = p
	}
	return prompts, nil
}
