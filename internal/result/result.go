// Package result is the record of one experiment: everything needed to
// reproduce it and every figure it produced, written as one JSON file, and
// beside it the data of its scored pass (samples.go). Reports are derived
// from these files, never from console output.
package result

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/internal/sys"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/workload"
	"github.com/rollbench/rollbench/workload/dataset"
)

// Schema names the layout of an offline result; it changes when a field
// changes meaning.
const Schema = "rollbench.offline/1"

// Status of an experiment.
const (
	StatusOK     = "ok"
	StatusFailed = "failed"
	// StatusSkipped marks a combination the matrix did not run, such as
	// a quantization the config or the platform lacks.
	StatusSkipped = "skipped"
)

// Header starts every result file: which experiment, of which layout, and
// how it ended.
type Header struct {
	Schema    string `json:"schema"`
	Rollbench string `json:"rollbench_version"`
	Name      string `json:"name"`
	// ModelName labels the model in reports: its name in the matrix
	// config, or the model directory's base name.
	ModelName string `json:"model_name"`
	Status    string `json:"status"`
	// Error is why a failed experiment failed or a skipped one was skipped.
	Error     string    `json:"error,omitempty"`
	StartedAt time.Time `json:"started_at"`
}

// Started is the header of an experiment starting now: failed until it
// says otherwise.
func Started(schema, name, modelName string) Header {
	return Header{Schema: schema, Name: name, ModelName: modelName, Status: StatusFailed, StartedAt: time.Now().UTC()}
}

// Offline is the result of one in-process offline experiment.
type Offline struct {
	Header
	// Log is the engine log, where everything the engine printed went
	// (empty when it was shown live), and LogTail its last lines when the
	// experiment failed in a matrix.
	Log     string   `json:"log,omitempty"`
	LogTail []string `json:"log_tail,omitempty"`

	Spec workload.Spec `json:"spec"`
	// AA is true for the BF16 configuration measured a second time (--aa):
	// the floor of what this machine's spread makes of no difference.
	AA bool `json:"aa,omitempty"`
	// RolloutMode is how the step reached the engine: sync or async.
	RolloutMode string `json:"rollout_mode"`
	// ProgressHook is true when the measured LLM.generate (sync mode)
	// reported its finished samples to rollbench's progress display, which
	// it does only when the display is a terminal's; false, it ran with
	// use_tqdm=False. Async mode counts in its own step loop.
	ProgressHook bool `json:"progress_hook"`
	// EngineKwargs are exactly the arguments LLM(...) was given.
	EngineKwargs map[string]any    `json:"engine_kwargs"`
	Sampling     workload.Sampling `json:"sampling_params"`
	Timings      Timings           `json:"timings"`

	// Dataset describes the prompts when they came from a dataset file.
	Dataset *dataset.Info `json:"dataset,omitempty"`

	// Tokens, Throughput and Timings.Generate are the first measured
	// pass's; with --repeat, Repetitions has every pass's headline figures
	// and Confidence their estimates.
	Tokens      metrics.Tokens     `json:"tokens"`
	Throughput  metrics.Throughput `json:"throughput"`
	Repetitions []Repetition       `json:"repetitions,omitempty"`
	Confidence  *Confidence        `json:"confidence,omitempty"`
	// Stop is why the passes ended under --repeat auto: how many ran, and
	// the headline interval (output tok/s, at the rule's corrected level)
	// they reached.
	Stop     *metrics.Stop `json:"stop,omitempty"`
	Warnings []string      `json:"warnings"`
	// Timeline is when each sample finished and what follows from it (the
	// first measured pass's); EngineCounters are the engine's own metrics
	// over that pass.
	Timeline       *metrics.Timeline       `json:"timeline,omitempty"`
	EngineCounters *metrics.EngineCounters `json:"engine_counters,omitempty"`

	Environment sys.Environment `json:"environment"`

	// Profile is the profiled pass that ran after the measured one, when
	// asked for; none of its timings enter the figures above.
	Profile *profile.Record `json:"profile,omitempty"`
	// Mismatch is the scored pass that ran after the measured ones, and
	// its mismatch against the BF16 reference, when asked for (--mismatch);
	// none of its timings enter the figures above either.
	Mismatch *Mismatch `json:"mismatch,omitempty"`
	// Replicas is a data-parallel step's record (workload.Spec.Replicas).
	Replicas *Replicas `json:"replicas,omitempty"`

	// The keys `vllm bench throughput --output-json` writes, with its
	// meanings: num_requests counts prompts, total_num_tokens counts prompt
	// tokens once per prompt plus every output token.
	ElapsedTime       float64 `json:"elapsed_time"`
	NumRequests       int     `json:"num_requests"`
	TotalNumTokens    int     `json:"total_num_tokens"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	TokensPerSecond   float64 `json:"tokens_per_second"`
}

// Timings are the phases of an experiment in seconds. Only Generate enters
// the throughput figures.
type Timings struct {
	// Import covers importing vllm and reading the environment.
	Import float64 `json:"import_s"`
	Load   float64 `json:"load_s"`
	Warmup float64 `json:"warmup_s"`
	// BuildRequests is the time Go took to build the prompt and sampling
	// objects for the measured call.
	BuildRequests float64 `json:"build_requests_s"`
	Generate      float64 `json:"generate_s"`
	Teardown      float64 `json:"teardown_s"`
}

// SetGeneration fills the counts, rates and vllm-bench keys from a measured
// generation.
func (r *Offline) SetGeneration(tokens metrics.Tokens, elapsed time.Duration) {
	r.Tokens = tokens
	r.Throughput = tokens.Rates(elapsed)
	r.Timings.Generate = elapsed.Seconds()
	r.ElapsedTime = elapsed.Seconds()
	r.NumRequests = tokens.Prompts
	r.TotalNumTokens = tokens.PromptTokens + tokens.OutputTokens
	r.RequestsPerSecond = r.Throughput.RequestsPerSecond
	r.TokensPerSecond = r.Throughput.TotalTokensPerSecond
}

// Write stores v as indented JSON at path, atomically: a reader sees the old
// file or the whole new one, never a part.
func Write(path string, v any) error {
	data, err := encode(v)
	if err != nil {
		return err
	}
	return write(path, data)
}

// write stores data at path atomically, naming path in its errors.
func write(path string, data []byte) error {
	if err := writeAtomic(path, data); err != nil {
		return fmt.Errorf("write result %s: %w", path, err)
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	f, err := createAtomic(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.discard()
		return err
	}
	return f.commit()
}

// atomicFile is a file written under a temporary name beside its path, which
// it takes, whole, only when committed.
type atomicFile struct {
	*os.File
	path string
}

func createAtomic(path string) (*atomicFile, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, err
	}
	return &atomicFile{File: tmp, path: path}, nil
}

// commit moves the file to its path once it is on disk; failing, it leaves
// no temporary file and whatever was at path.
func (f *atomicFile) commit() error {
	// The first error says what went wrong; Close runs regardless.
	err := cmp.Or(f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// discard drops the file, leaving whatever was at its path.
func (f *atomicFile) discard() {
	f.Close()
	os.Remove(f.Name())
}
