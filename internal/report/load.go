// Package report summarizes a folder of experiment result files (rollbench
// offline, online and paired results and the JSON files `vllm bench
// throughput` and `vllm bench serve` write) as tables to paste into
// reports: text, CSV and Markdown, with each quantization's speedup over its
// model's bf16 run (in throughput, and in mean end-to-end latency where the
// runs record it) held to the model's A/A band where it has one, and where
// the results were scored (--mismatch) their mismatch against the BF16
// policy beside the bf16 row's, the floor, and draws its pictures as PNG
// files.
//
// Load reads a folder into flat Rows (a paired file's arms each a row) and
// the Problems of the files it could not read; Build orders them, adds the combinations an experiment matrix
// expected but found no file for, and compares each row with its baseline;
// Text, CSV and Markdown are the reporters. Reports are functions of the
// files alone: nothing here runs an experiment.
package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/metrics"
)

// Status of a row.
const (
	StatusOK      = "ok"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
	// StatusMissing marks a combination the caller expected but found no
	// result file for.
	StatusMissing = "missing"
)

// Format names the kind of file a row came from.
const (
	FormatRollbench       = "rollbench"
	FormatRollbenchOnline = "rollbench-online"
	FormatVLLMThroughput  = "vllm-bench-throughput"
	FormatVLLMServe       = "vllm-bench-serve"
)

// Quantizations are the variants a row may have, the bf16 baseline first;
// summaries list a model's rows in this order.
var Quantizations = []string{"bf16", "w8a16", "w8a8"}

// baselineQuant is the variant the others are compared with.
const baselineQuant = "bf16"

// The rollbench result layouts this package reads: an offline result, an
// online one, which carries `vllm bench serve`'s keys at its top level, and
// a paired experiment's, whose arms are offline results.
const (
	offlineSchema = result.Schema
	onlineSchema  = "rollbench.online/1"
	pairedSchema  = result.PairedSchema
)

// Row is one experiment as read from its result file. A nil figure is not
// known (the file's format does not record it, or the run did not finish)
// and is shown as N/A, never as 0.
type Row struct {
	Model  string `json:"model"`
	Quant  string `json:"quant"`
	Status string `json:"status"`
	// Reason says why a row is not ok.
	Reason string `json:"reason,omitempty"`
	// Source is the result file's name inside the folder.
	Source string `json:"source,omitempty"`
	Format string `json:"format,omitempty"`

	OutputTokensPerSecond *float64 `json:"output_tokens_per_second,omitempty"`
	// TotalTokensPerSecond counts prompt and output tokens.
	TotalTokensPerSecond *float64 `json:"total_tokens_per_second,omitempty"`
	ElapsedSeconds       *float64 `json:"elapsed_seconds,omitempty"`
	RequestsPerSecond    *float64 `json:"requests_per_second,omitempty"`
	SequencesPerSecond   *float64 `json:"sequences_per_second,omitempty"`
	// MeanE2ELms and P99E2ELms are a serve or online run's end-to-end
	// request latencies in milliseconds.
	MeanE2ELms *float64 `json:"mean_e2el_ms,omitempty"`
	P99E2ELms  *float64 `json:"p99_e2el_ms,omitempty"`

	// Prompts and N describe the workload where the file records them (0
	// where it does not).
	Prompts  int      `json:"num_prompts,omitempty"`
	N        int      `json:"n,omitempty"`
	Warnings []string `json:"warnings,omitempty"`

	// Samples are the repetitions of a run measured more than once (a
	// paired arm's rounds); its figures above are then their means.
	Samples *Samples `json:"samples,omitempty"`

	// AA marks the BF16 configuration measured a second time (--aa), the
	// floor of what this machine's spread makes of no difference: Quant is
	// bf16, and the row is shown as "bf16 (A/A)" and is never a baseline.
	AA bool `json:"aa,omitempty"`
	// Stop is why --repeat auto ended the row's passes (a paired file's
	// rounds): the row's intervals are at the level its looks correct for.
	Stop *metrics.Stop `json:"stop,omitempty"`
	// Paired is set on the rows of a paired experiment's arms.
	Paired *Pairing `json:"paired,omitempty"`
	// Mismatch is the row's rollout against the BF16 policy, nil when
	// its result has no scored figures.
	Mismatch *Mismatch `json:"mismatch,omitempty"`
	// MismatchError is why a result that asked for a mismatch has none,
	// or only part of one.
	MismatchError string `json:"mismatch_error,omitempty"`
	// Replicas is an ok data-parallel step's (--data-parallel-size), nil
	// for one engine.
	Replicas *Replicas `json:"replicas,omitempty"`
}

// Replicas is what a summary shows of a data-parallel step: its headline,
// the step makespan, and how far apart its replicas finished. With
// repetitions both are their means.
type Replicas struct {
	DataParallelSize int `json:"data_parallel_size"`
	// StepS is until the last sample was back from any replica: the
	// figure a speedup between two data-parallel steps compares.
	StepS float64 `json:"step_makespan_s"`
	// Imbalance is the slowest replica's makespan over the mean replica's.
	Imbalance float64 `json:"imbalance"`
}

// Mismatch is a row's verl figures and what they were scored against.
type Mismatch struct {
	// Reference is what scored the samples as the trainer does: hf or
	// vllm.
	Reference result.ReferenceKind `json:"reference"`
	metrics.Mismatch
}

// Pairing is what a row of a paired experiment needs to be compared with
// its baseline, the arm of the same file it was measured in alternation
// with.
type Pairing struct {
	// Baseline labels the baseline arm.
	Baseline string `json:"baseline"`
	// Comparison is the file's paired ratio of this arm over the baseline:
	// nil for the baseline itself, and for an arm the experiment could not
	// compare (fewer than two rounds).
	Comparison *metrics.PairedRatio `json:"comparison,omitempty"`
	Rounds     int                  `json:"rounds"`
	// Order is each round's order of arms, by label.
	Order [][]string `json:"order"`
	// Arms are the labels of the file's arms, the baseline first.
	Arms []string `json:"arms"`
}

// Label names the row's configuration in the summaries: its quantization,
// "bf16 (A/A)" for an A/A row, as result.Offline.Label names a paired arm.
func (r Row) Label() string {
	return result.ArmLabel(r.Quant, r.AA)
}

// Samples are a row's figures, one per repetition.
type Samples struct {
	OutputTokensPerSecond []float64 `json:"output_tokens_per_second"`
	TotalTokensPerSecond  []float64 `json:"total_tokens_per_second"`
	ElapsedSeconds        []float64 `json:"elapsed_seconds"`
}

// Problem is a .json file in the folder that was not summarized, and why.
type Problem struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// Load reads every result file in dir. Files that end in .json but cannot
// be read, parsed or recognised become problems and the others are still
// read; files not ending in .json (a result's samples file among them),
// names starting with "." (temporary files), summary.* (this package's own
// output) and a samples file's score (NAME.score.json, or any file of its
// schema: not an experiment) are passed over. Of a run's NAME.json and
// NAME.failed.json (see result.Save) one row is kept: the complete one.
// err is only for a folder that cannot be listed.
func Load(dir string) (rows []Row, problems []Problem, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "summary.") || strings.HasSuffix(name, result.ScoreExt) {
			continue
		}
		file := filepath.Join(dir, name)
		read, err := readFile(file)
		if errors.Is(err, errScore) {
			continue
		}
		if err != nil {
			problems = append(problems, Problem{File: file, Reason: err.Error()})
			continue
		}
		rows = append(rows, read...)
	}
	return preferComplete(rows), problems, nil
}

// preferComplete keeps the rows of one file of a run that has both a
// NAME.json and a NAME.failed.json: the complete one, else NAME.json, the
// newer. A file is complete when all its rows (a paired file's arms) are
// ok.
func preferComplete(rows []Row) []Row {
	complete := map[string]bool{}
	for _, r := range rows {
		ok, seen := complete[r.Source]
		complete[r.Source] = (ok || !seen) && r.Status == StatusOK
	}
	drop := map[string]bool{}
	for source := range complete {
		name, ok := strings.CutSuffix(source, result.FailedExt)
		if !ok {
			continue
		}
		if newer, ok := complete[name+result.Ext]; ok {
			if complete[source] && !newer {
				drop[name+result.Ext] = true
			} else {
				drop[source] = true
			}
		}
	}
	var kept []Row
	for _, r := range rows {
		if !drop[r.Source] {
			kept = append(kept, r)
		}
	}
	return kept
}

func readFile(file string) ([]Row, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	return loadFile(filepath.Base(file), data)
}

// errScore is a `score` result's file, under whatever name --output gave
// it: a samples file's mismatch, not an experiment.
var errScore = errors.New("a " + result.ScoreSchema + " file, the score of a samples file, not an experiment")

// loadFile decodes one result file called name (a base name), recognising
// its format by its keys: one row, or a paired file's one row per arm.
func loadFile(name string, data []byte) ([]Row, error) {
	keys, err := objectKeys(data)
	if err != nil {
		return nil, err
	}
	if isSchema(keys["schema"], result.ScoreSchema) {
		return nil, errScore
	}
	if schema, ok := keys["schema"]; ok && isSchema(schema, pairedSchema) {
		rows, err := loadPaired(data)
		for i := range rows {
			rows[i].Source = name
		}
		return rows, err
	}
	row, err := loadOne(name, data, keys)
	if err != nil {
		return nil, err
	}
	return []Row{row}, nil
}

// objectKeys decodes a JSON object's top level.
func objectKeys(data []byte) (map[string]json.RawMessage, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("not a JSON object but %s", te.Value)
		}
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if keys == nil {
		return nil, errors.New("not a JSON object but null")
	}
	return keys, nil
}

func isSchema(raw json.RawMessage, want string) bool {
	var s string
	return json.Unmarshal(raw, &s) == nil && s == want
}

// loadOne decodes a result file of one experiment.
func loadOne(name string, data []byte, keys map[string]json.RawMessage) (Row, error) {
	has := func(k string) bool { _, ok := keys[k]; return ok }
	var (
		row Row
		err error
	)
	switch {
	case has("schema"):
		row, err = loadRollbench(data, keys["schema"])
	case has("output_throughput") || has("duration"):
		row, err = loadServe(data)
	case has("elapsed_time") && has("tokens_per_second"):
		row, err = loadThroughput(data)
	default:
		return Row{}, errors.New("not a rollbench or vllm bench result: no schema, duration or elapsed_time and tokens_per_second key")
	}
	if err != nil {
		return Row{}, err
	}
	if row.Model == "" { // a vllm bench file, named <model>_<quant>.json
		model, quant, err := parseName(name)
		if err != nil {
			return Row{}, fmt.Errorf("%s result, but %v", row.Format, err)
		}
		row.Model, row.Quant = model, quant
	}
	row.Source = name
	return row, nil
}

// parseName splits a vllm bench file's name, <model>_<quant>.json, at its
// last underscore. The quantization may be in any case.
func parseName(name string) (model, quant string, err error) {
	stem := strings.TrimSuffix(name, ".json")
	i := strings.LastIndexByte(stem, '_')
	if i < 0 {
		return "", "", errors.New("the name is not <model>_<quant>.json")
	}
	model, quant = stem[:i], strings.ToLower(stem[i+1:])
	if !knownQuant(quant) {
		return "", "", fmt.Errorf("the quant %q in the name is not bf16, w8a16 or w8a8", stem[i+1:])
	}
	if model == "" {
		return "", "", fmt.Errorf("the name has no model before %q", stem[i:])
	}
	return model, quant, nil
}

func knownQuant(q string) bool {
	for _, k := range Quantizations {
		if q == k {
			return true
		}
	}
	return false
}

// rollbenchFile is the part of a rollbench offline or online result a
// summary needs.
type rollbenchFile struct {
	Name      string `json:"name"`
	ModelName string `json:"model_name"`
	Status    string `json:"status"`
	Error     string `json:"error"`
	Spec      struct {
		Rollout struct {
			NumPrompts int `json:"num_prompts"`
			N          int `json:"n"`
		} `json:"rollout"`
		Engine struct {
			Model string `json:"model"`
			Quant string `json:"quant"`
		} `json:"engine"`
	} `json:"spec"`
	Warnings []string `json:"warnings"`
	// AA and Stop are an offline result's A/A mark and --repeat auto's end.
	AA   bool          `json:"aa"`
	Stop *metrics.Stop `json:"stop"`
	// Mismatch is an offline result's scored pass (--mismatch).
	Mismatch *struct {
		Reference struct {
			Kind result.ReferenceKind `json:"kind"`
		} `json:"reference"`
		Metrics *metrics.Mismatch `json:"metrics"`
		Error   string            `json:"error"`
	} `json:"mismatch"`

	// An offline result's figures.
	Throughput struct {
		Output    *float64 `json:"output_tokens_per_second"`
		Total     *float64 `json:"total_tokens_per_second"`
		Requests  *float64 `json:"requests_per_second"`
		Sequences *float64 `json:"sequences_per_second"`
	} `json:"throughput"`
	ElapsedTime       *float64 `json:"elapsed_time"`
	RequestsPerSecond *float64 `json:"requests_per_second"`
	TokensPerSecond   *float64 `json:"tokens_per_second"`
	// Repetitions are an offline run's measured passes, when it repeated.
	// A data-parallel pass's generate_s is its step makespan: the
	// driver's wait for the last sample back from any replica.
	Repetitions []struct {
		GenerateS float64  `json:"generate_s"`
		Output    float64  `json:"output_tokens_per_second"`
		Total     float64  `json:"total_tokens_per_second"`
		Imbalance *float64 `json:"imbalance"`
	} `json:"repetitions"`
	// Replicas is an offline result's data-parallel step, its first
	// pass's spread.
	Replicas *result.Replicas `json:"replicas"`

	// An online result's figures: the vllm bench serve keys, and the
	// samples completed, which those keys do not count.
	serveFile
	Metrics struct {
		CompletedSamples *int `json:"completed_samples"`
	} `json:"metrics"`
}

func loadRollbench(data []byte, schema json.RawMessage) (Row, error) {
	var s string
	if err := json.Unmarshal(schema, &s); err != nil {
		return Row{}, fmt.Errorf("schema is not a string but %s", schema)
	}
	if s != offlineSchema && s != onlineSchema {
		return Row{}, fmt.Errorf("unknown schema %q (this report reads %s, %s and %s)", s, offlineSchema, onlineSchema, pairedSchema)
	}
	var f rollbenchFile
	if err := json.Unmarshal(data, &f); err != nil {
		return Row{}, fmt.Errorf("not a %s result: %v", s, err)
	}
	row := Row{
		Quant:    strings.ToLower(f.Spec.Engine.Quant),
		Status:   f.Status,
		Format:   FormatRollbench,
		Prompts:  f.Spec.Rollout.NumPrompts,
		N:        f.Spec.Rollout.N,
		Warnings: f.Warnings,
		AA:       f.AA,
		Stop:     f.Stop,
	}
	if s == onlineSchema {
		row.Format = FormatRollbenchOnline
	}
	if !knownQuant(row.Quant) {
		return Row{}, fmt.Errorf("spec.engine.quant %q is not bf16, w8a16 or w8a8", f.Spec.Engine.Quant)
	}
	row.Model = rollbenchModel(f, row.Quant)
	if row.Model == "" {
		return Row{}, errors.New("no model_name, name or spec.engine.model to name the model by")
	}
	switch {
	case f.Status == StatusFailed || f.Status == StatusSkipped:
		// A failed online run may still carry the figures of what it
		// measured; a failed row shows none.
		row.Reason = f.Error
	case f.Status != StatusOK:
		return Row{}, fmt.Errorf("status %q is not ok, failed or skipped", f.Status)
	case s == onlineSchema:
		f.serveFile.setFigures(&row)
		if d, n := f.Duration, f.Metrics.CompletedSamples; d != nil && *d > 0 && n != nil {
			v := float64(*n) / *d
			row.SequencesPerSecond = &v
		}
	default:
		row.OutputTokensPerSecond = f.Throughput.Output
		row.TotalTokensPerSecond = firstOf(f.Throughput.Total, f.TokensPerSecond)
		row.ElapsedSeconds = f.ElapsedTime
		row.RequestsPerSecond = firstOf(f.Throughput.Requests, f.RequestsPerSecond)
		row.SequencesPerSecond = f.Throughput.Sequences
		if len(f.Repetitions) > 1 {
			setRepetitions(&row, f)
		}
		row.Replicas = replicas(f)
		if m := f.Mismatch; m != nil {
			row.MismatchError = m.Error
			if m.Metrics != nil {
				row.Mismatch = &Mismatch{Reference: m.Reference.Kind, Mismatch: *m.Metrics}
			}
		}
	}
	return row, nil
}

// setRepetitions gives a row measured more than once its samples, and the
// means of its repetitions as its figures.
func setRepetitions(row *Row, f rollbenchFile) {
	s := &Samples{}
	var reqs, seqs []float64
	for _, r := range f.Repetitions {
		s.OutputTokensPerSecond = append(s.OutputTokensPerSecond, r.Output)
		s.TotalTokensPerSecond = append(s.TotalTokensPerSecond, r.Total)
		s.ElapsedSeconds = append(s.ElapsedSeconds, r.GenerateS)
		if r.GenerateS > 0 {
			reqs = append(reqs, float64(row.Prompts)/r.GenerateS)
			seqs = append(seqs, float64(row.Prompts*row.N)/r.GenerateS)
		}
	}
	row.Samples = s
	mean := func(xs []float64) *float64 {
		if len(xs) != len(f.Repetitions) {
			return nil
		}
		m := metrics.Mean(xs)
		return &m
	}
	row.OutputTokensPerSecond = mean(s.OutputTokensPerSecond)
	row.TotalTokensPerSecond = mean(s.TotalTokensPerSecond)
	row.ElapsedSeconds = mean(s.ElapsedSeconds)
	row.RequestsPerSecond = mean(reqs)
	row.SequencesPerSecond = mean(seqs)
}

// replicas is an offline result's data-parallel step as a summary shows
// it, nil for one engine (or a spread the result does not have). Repeated,
// its figures are the means of the repetitions', as the row's others.
func replicas(f rollbenchFile) *Replicas {
	p := f.Replicas
	if p == nil || p.Spread == nil {
		return nil
	}
	r := &Replicas{DataParallelSize: p.DataParallelSize, StepS: p.Spread.StepS, Imbalance: p.Spread.Imbalance}
	if len(f.Repetitions) < 2 {
		return r
	}
	var steps, imbalances []float64
	for _, rep := range f.Repetitions {
		steps = append(steps, rep.GenerateS)
		if rep.Imbalance != nil {
			imbalances = append(imbalances, *rep.Imbalance)
		}
	}
	r.StepS = metrics.Mean(steps)
	if len(imbalances) == len(steps) {
		r.Imbalance = metrics.Mean(imbalances)
	}
	return r
}

// pairedFile is the part of a paired experiment's result a summary needs;
// its arms are offline results.
type pairedFile struct {
	Name        string              `json:"name"`
	ModelName   string              `json:"model_name"`
	Status      string              `json:"status"`
	Error       string              `json:"error"`
	Arms        []json.RawMessage   `json:"arms"`
	Rounds      int                 `json:"rounds"`
	Order       [][]string          `json:"order"`
	Comparisons []result.Comparison `json:"comparisons"`
	Stop        *metrics.Stop       `json:"stop"`
}

// loadPaired reads a paired experiment's file as one row per arm, each with
// the file's pairing and its own comparison. A file that failed before it
// recorded an arm is one failed bf16 row: the model has no baseline.
func loadPaired(data []byte) ([]Row, error) {
	var f pairedFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("not a %s result: %v", pairedSchema, err)
	}
	switch f.Status {
	case StatusOK, StatusFailed:
	default:
		return nil, fmt.Errorf("status %q is not ok or failed", f.Status)
	}
	model := f.ModelName
	if model == "" {
		model, _ = strings.CutSuffix(f.Name, "_paired")
	}
	if len(f.Arms) == 0 {
		if f.Status == StatusOK {
			return nil, errors.New("a paired result with status ok and no arms")
		}
		if model == "" {
			return nil, errors.New("no model_name or name to name the model by")
		}
		return []Row{{Model: model, Quant: baselineQuant, Status: StatusFailed, Reason: f.Error, Format: FormatRollbench}}, nil
	}
	rows := make([]Row, len(f.Arms))
	labels := make([]string, len(f.Arms))
	for i, arm := range f.Arms {
		keys, err := objectKeys(arm)
		if err != nil || !isSchema(keys["schema"], offlineSchema) {
			return nil, fmt.Errorf("arm %d is not a %s result", i+1, offlineSchema)
		}
		row, err := loadRollbench(arm, keys["schema"])
		if err != nil {
			return nil, fmt.Errorf("arm %d: %v", i+1, err)
		}
		if model != "" {
			row.Model = model
		}
		if row.Status != StatusOK && row.Reason == "" {
			row.Reason = f.Error
		}
		row.Stop = cmp.Or(row.Stop, f.Stop)
		rows[i], labels[i] = row, row.Label()
	}
	if rows[0].Quant != baselineQuant || rows[0].AA {
		return nil, fmt.Errorf("the first arm is %s, not the bf16 baseline", labels[0])
	}
	for i := range rows {
		p := &Pairing{Baseline: labels[0], Rounds: f.Rounds, Order: f.Order, Arms: labels}
		for _, c := range f.Comparisons {
			if i > 0 && c.Arm == labels[i] && c.Baseline == labels[0] && c.Metric == result.MetricOutput {
				p.Comparison = &c.PairedRatio
			}
		}
		rows[i].Paired = p
	}
	return rows, nil
}

// rollbenchModel names a result's model: model_name, else the experiment
// name without its _<quant> suffix, else the model directory's base name.
func rollbenchModel(f rollbenchFile, quant string) string {
	if f.ModelName != "" {
		return f.ModelName
	}
	suffix := "_" + quant
	if f.AA {
		suffix += "_aa"
	}
	if m, ok := strings.CutSuffix(f.Name, suffix); ok && m != "" {
		return m
	}
	if f.Spec.Engine.Model != "" {
		if m := path.Base(filepath.ToSlash(f.Spec.Engine.Model)); m != "/" && m != "." {
			return m
		}
	}
	return f.Name
}

func firstOf(vs ...*float64) *float64 {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

// throughputFile is what `vllm bench throughput --output-json` writes.
type throughputFile struct {
	ElapsedTime       *float64 `json:"elapsed_time"`
	NumRequests       int      `json:"num_requests"`
	RequestsPerSecond *float64 `json:"requests_per_second"`
	TokensPerSecond   *float64 `json:"tokens_per_second"`
}

func loadThroughput(data []byte) (Row, error) {
	var f throughputFile
	if err := json.Unmarshal(data, &f); err != nil {
		return Row{}, fmt.Errorf("not a vllm bench throughput result: %v", err)
	}
	return Row{
		Status:               StatusOK,
		Format:               FormatVLLMThroughput,
		TotalTokensPerSecond: f.TokensPerSecond,
		ElapsedSeconds:       f.ElapsedTime,
		RequestsPerSecond:    f.RequestsPerSecond,
		Prompts:              f.NumRequests,
	}, nil
}

// serveFile is the part of what `vllm bench serve --save-result` writes
// that a summary needs.
type serveFile struct {
	Duration             *float64 `json:"duration"`
	Completed            *int     `json:"completed"`
	Failed               int      `json:"failed"`
	NumPrompts           int      `json:"num_prompts"`
	RequestThroughput    *float64 `json:"request_throughput"`
	OutputThroughput     *float64 `json:"output_throughput"`
	TotalTokenThroughput *float64 `json:"total_token_throughput"`
	MeanE2ELms           *float64 `json:"mean_e2el_ms"`
	P99E2ELms            *float64 `json:"p99_e2el_ms"`
}

func loadServe(data []byte) (Row, error) {
	var f serveFile
	if err := json.Unmarshal(data, &f); err != nil {
		return Row{}, fmt.Errorf("not a vllm bench serve result: %v", err)
	}
	row := Row{Status: StatusOK, Format: FormatVLLMServe, Prompts: f.NumPrompts}
	if row.Prompts == 0 && f.Completed != nil {
		row.Prompts = *f.Completed + f.Failed
	}
	if f.Completed != nil && *f.Completed == 0 {
		row.Status = StatusFailed
		row.Reason = fmt.Sprintf("no request completed (%d failed)", f.Failed)
		return row, nil
	}
	f.setFigures(&row)
	return row, nil
}

// setFigures gives an ok row the figures of a serve run, and a warning
// when some of its requests failed.
func (f serveFile) setFigures(row *Row) {
	if f.Failed > 0 {
		row.Warnings = append(slices.Clip(row.Warnings), fmt.Sprintf("%d requests failed", f.Failed))
	}
	row.OutputTokensPerSecond = f.OutputThroughput
	row.TotalTokensPerSecond = f.TotalTokenThroughput
	row.ElapsedSeconds = f.Duration
	row.RequestsPerSecond = f.RequestThroughput
	row.MeanE2ELms = f.MeanE2ELms
	row.P99E2ELms = f.P99E2ELms
}
