package report

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/workload/dataset"
)

// Console writes the short summary rollbench prints after a run: what ran,
// its headline figures, how its replicas shared a data-parallel step, its
// mismatch against the BF16 policy, its warnings,
// its profiled pass and where its result and its engine log are. res is the
// *result.Offline, *result.Online or *result.Paired saved at path, or the
// *result.Score of a samples file.
func Console(w io.Writer, res any, path string) error {
	var b strings.Builder
	switch r := res.(type) {
	case *result.Offline:
		consoleOffline(&b, r)
		consoleTail(&b, r.Warnings, path, r.Log)
		consoleProfile(&b, r.Profile)
	case *result.Online:
		consoleOnline(&b, r)
		consoleTail(&b, slices.Concat(r.Warnings, r.Metrics.Notes), path, r.ServerLog)
		consoleProfile(&b, r.Profile)
	case *result.Paired:
		consolePaired(&b, r)
		var warnings []string
		for _, a := range r.Arms {
			for _, w := range a.Warnings {
				warnings = append(warnings, a.Label()+": "+w)
			}
		}
		consoleTail(&b, warnings, path, r.Log)
	case *result.Score:
		consoleScore(&b, r)
		consoleFiles(&b, path, "")
	default:
		return fmt.Errorf("console summary of a %T: want *result.Offline, *result.Online, *result.Paired or *result.Score", res)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ConsoleSession writes the summary of a profiling session: its steps and
// traces, and where its result is. sessionFile is the steps' file as the
// user named it.
func ConsoleSession(w io.Writer, s *result.Session, sessionFile, path string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: profiling session %s on %s\n", s.Name, sessionFile, s.Environment.Platform)
	consoleProfile(&b, s.Profile)
	consoleFiles(&b, path, s.Log)
	_, err := io.WriteString(w, b.String())
	return err
}

func consoleOffline(b *strings.Builder, r *result.Offline) {
	s, env := r.Spec, r.Environment
	fmt.Fprintf(b, "%s: %d prompts x n=%d, %d+%d tokens, on %s (%s) with vllm %s\n",
		r.Name, s.Rollout.NumPrompts, s.Rollout.N, s.Rollout.InputLen, s.Rollout.OutputLen,
		env.Platform, env.DeviceName, env.VLLM)
	fmt.Fprintf(b, "  generate    %.3f s  (load %.1f s, warm-up %.1f s, teardown %.1f s)\n",
		r.Timings.Generate, r.Timings.Load, r.Timings.Warmup, r.Timings.Teardown)
	t := r.Throughput
	fmt.Fprintf(b, "  throughput  %.1f output tok/s, %.1f total tok/s, %.2f req/s, %.2f seq/s\n",
		t.OutputTokensPerSecond, t.TotalTokensPerSecond, t.RequestsPerSecond, t.SequencesPerSecond)
	fmt.Fprintf(b, "  tokens      %d prompt, %d output over %d sequences (finish: %s)\n",
		r.Tokens.PromptTokens, r.Tokens.OutputTokens, r.Tokens.Sequences, finishReasons(r.Tokens.FinishReasons))
	consoleDataset(b, r.Dataset)
	consoleConfidence(b, r.Confidence)
	if tl := r.Timeline; tl != nil {
		fmt.Fprintf(b, "  timeline    %s: makespan %.3f s, 90%% done at %.3f s, tail share %.1f%% (output lengths %g..%g, median %g)\n",
			r.RolloutMode, tl.MakespanS, tl.DoneS.P90, 100*tl.TailShare, r.Tokens.OutputLen.Min, r.Tokens.OutputLen.Max, r.Tokens.OutputLen.Median)
		for _, c := range tl.Caveats {
			fmt.Fprintf(b, "  note        %s\n", c)
		}
	}
	consoleReplicas(b, r.Replicas)
	consoleMismatch(b, "mismatch", "", r.Mismatch)
}

// consoleReplicas shows a data-parallel step: where its replicas ran, how
// they finished against each other in the first measured pass, and what
// going through Ray cost. An ok result has a measured pass.
func consoleReplicas(b *strings.Builder, p *result.Replicas) {
	if p == nil || p.Spread == nil {
		return
	}
	c, pl, sp := p.Cluster, p.Placement, p.Spread
	how, nodes := "joined", "nodes"
	if c.Started {
		how = "started"
	}
	if len(c.Nodes) == 1 {
		nodes = "node"
	}
	fmt.Fprintf(b, "  replicas    %d x tp%d on Ray (%s %s, %d %s), %s: step %.3f s, slowest replica %d (%.3f s), imbalance %.2f, idle %.1f%% of device time\n",
		p.DataParallelSize, p.TensorParallelSize, how, c.Address, len(c.Nodes), nodes, p.Dispatch,
		sp.StepS, sp.Slowest, sp.Replicas[sp.Slowest].MakespanS, sp.Imbalance, 100*sp.IdleShare)
	for _, f := range sp.Replicas {
		at := pl.Replicas[f.Replica]
		fmt.Fprintf(b, "    replica %-2d pid %d on %s: ", f.Replica, at.PID, at.NodeIP)
		if f.Samples == 0 {
			b.WriteString("no samples\n")
			continue
		}
		fmt.Fprintf(b, "%d samples, %d output tokens, makespan %.3f s, %.1f tok/s\n", f.Samples, f.OutputTokens, f.MakespanS, f.OutputTokensPerSecond)
	}
	fmt.Fprintf(b, "  ray         connect %.1f s, placement %.2f s, actors + loads %.1f s, handout %.1f ms, call overhead %.1f ms mean\n",
		c.ConnectS, pl.PlaceS, pl.StartS, 1e3*p.HandoutS, 1e3*p.CallOverheadS.Mean)
}

// consoleMismatch shows a scored pass's headline figures against the
// reference and what scoring took, or why there are none, on a line
// labelled label, its text after prefix.
func consoleMismatch(b *strings.Builder, label, prefix string, m *result.Mismatch) {
	if m == nil {
		return
	}
	if mm := m.Metrics; mm != nil {
		over := fmt.Sprintf("%d %s", mm.K3KL.Count, mm.K3KL.Over)
		if mm.LogPPLDiff.Over == metrics.OverSequences {
			over += fmt.Sprintf(" of %d %s", mm.LogPPLDiff.Count, mm.LogPPLDiff.Over)
		}
		if m.Skipped > 0 {
			over += fmt.Sprintf(", %d empty responses left out", m.Skipped)
		}
		t := m.Timings
		var took []string
		if t.ScoredPass > 0 {
			took = append(took, fmt.Sprintf("scored pass %.1f s", t.ScoredPass))
		}
		took = append(took, fmt.Sprintf("reference load %.1f s", t.ReferenceLoad), fmt.Sprintf("scoring %.1f s", t.ReferenceScore))
		fmt.Fprintf(b, "  %-11s %svs %s BF16 reference: k3_kl %s, probs diff max %s over %s (%s)\n", label, prefix,
			m.Reference.Kind, sci(mm.K3KL.Value), sci(mm.ProbsDiffMax.Value), over, strings.Join(took, ", "))
	}
	if m.Error != "" {
		fmt.Fprintf(b, "  %-11s %s%s\n", label, prefix, m.Error)
	}
}

// consoleScore shows what a samples file held, what scored it and the
// mismatch it found.
func consoleScore(b *strings.Builder, r *result.Score) {
	h := r.SamplesHeader
	fmt.Fprintf(b, "%s: score of %s, %d samples of %s (%s)\n", r.Name, r.SamplesPath, h.Samples, h.ModelPath, h.Quantization)
	ref := r.Mismatch.Reference
	line := fmt.Sprintf("%s BF16 %s", ref.Kind, ref.Model)
	if ref.Device != "" {
		line += " on " + ref.Device
	}
	fmt.Fprintf(b, "  reference   %s\n", line)
	if ref.Note != "" {
		fmt.Fprintf(b, "  note        %s\n", ref.Note)
	}
	m := r.Mismatch
	if m.Error == "" && r.Status != result.StatusOK {
		m.Error = r.Error
	}
	consoleMismatch(b, "mismatch", "", &m)
}

// consolePaired shows each arm's mean output rate over the rounds and each
// paired comparison; the matrix summary shows them in full.
func consolePaired(b *strings.Builder, r *result.Paired) {
	labels := make([]string, len(r.Arms))
	for i, a := range r.Arms {
		labels[i] = a.Label()
	}
	fmt.Fprintf(b, "%s: paired, %d rounds of %s\n", r.Name, r.Rounds, strings.Join(labels, ", "))
	if r.Status != result.StatusOK {
		fmt.Fprintf(b, "  failed      %s\n", r.Error)
	}
	for i, a := range r.Arms {
		if a.Status != result.StatusOK {
			continue
		}
		e := a.OutputEstimate(metrics.Alpha)
		fmt.Fprintf(b, "  %-11s %.1f output tok/s ± %.1f%% (95%% CI, n=%d)\n", labels[i], e.Mean, 100*e.HalfWidth(), e.N)
	}
	for _, c := range r.Comparisons {
		fmt.Fprintf(b, "  %-11s %.3fx %s vs %s at %.2f%% (p=%s, paired over %d rounds)\n", c.Arm, c.Ratio,
			bandText(Band{Low: &c.Low, High: &c.High}), c.Baseline, 100*c.Level, metrics.PValue(c.P), c.Rounds)
	}
	if r.Stop != nil {
		fmt.Fprintf(b, "  stopped     %s\n", r.Stop.Reason)
	}
	for i, a := range r.Arms {
		consoleMismatch(b, labels[i], "mismatch ", a.Mismatch)
	}
}

func consoleOnline(b *strings.Builder, r *result.Online) {
	s, m := r.Spec, r.Metrics
	fmt.Fprintf(b, "%s (online, %s, concurrency %d): %d prompts x n=%d, %d+%d tokens, on %s with vllm %s\n",
		r.Name, r.Client.Mode, m.MaxConcurrency, s.Rollout.NumPrompts, s.Rollout.N, s.Rollout.InputLen, s.Rollout.OutputLen,
		r.Environment.Platform, r.Environment.VLLM)
	fmt.Fprintf(b, "  run         %.3f s, %d of %d requests completed  (server start %.1f s, warm-up %.1f s)\n",
		m.DurationS, m.CompletedRequests, m.Requests, r.Timings.ServerStart, r.Timings.Warmup)
	fmt.Fprintf(b, "  throughput  %.1f output tok/s, %.1f total tok/s, %.2f req/s\n", m.OutputThroughput, m.TotalTokenThroughput, m.RequestThroughput)
	for _, l := range []struct {
		name string
		s    metrics.Summary
	}{{"TTFT", m.TTFT}, {"TPOT", m.TPOT}, {"ITL", m.ITL}, {"E2EL", m.E2EL}} {
		fmt.Fprintf(b, "  %-11s mean %.2f ms, median %.2f, p99 %.2f\n", l.name, l.s.Mean, l.s.Median, l.s.P99)
	}
}

func consoleTail(b *strings.Builder, warnings []string, path, log string) {
	for _, warn := range warnings {
		fmt.Fprintf(b, "  warning     %s\n", warn)
	}
	consoleFiles(b, path, log)
}

// consoleFiles names the result and, unless it was shown live, the engine
// log.
func consoleFiles(b *strings.Builder, path, log string) {
	fmt.Fprintf(b, "  result      %s\n", path)
	if log != "" {
		fmt.Fprintf(b, "  engine log  %s\n", log)
	}
}

func finishReasons(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// consoleDataset says where a run's prompts came from and how they fit.
func consoleDataset(b *strings.Builder, d *dataset.Info) {
	if d == nil {
		return
	}
	filter := "not filtered"
	if d.FilterOverlong {
		filter = "overlong filtered"
	}
	fmt.Fprintf(b, "  dataset     %s: %d rows read, %d kept (%s), %d drawn, %d truncated (truncation %s); prompts %d..%d tokens, mean %.1f\n",
		d.Path, d.RowsRead, d.RowsKept, filter, d.Drawn, d.Truncated, d.Truncation, d.PromptTokens.Min, d.PromptTokens.Max, d.PromptTokens.Mean)
}

// consoleConfidence shows each headline figure's mean and 95% interval
// over the repetitions.
func consoleConfidence(b *strings.Builder, c *result.Confidence) {
	if c == nil {
		return
	}
	line := func(name, unit string, e metrics.Estimate) {
		fmt.Fprintf(b, "  %-11s %.3f %s ± %.1f%% (95%% CI %.3f..%.3f, std %.3f, CV %.1f%%, n=%d)\n",
			name, e.Mean, unit, 100*e.HalfWidth(), e.Low, e.High, e.Std, 100*e.CV, e.N)
	}
	line("generate", "s", c.GenerateS)
	line("output", "tok/s", c.OutputTokensPerSecond)
	line("total", "tok/s", c.TotalTokensPerSecond)
	if c.MakespanS != nil {
		line("makespan", "s", *c.MakespanS)
	}
}

// consoleProfile shows where the profiled pass's traces went and what each
// trace's report says.
func consoleProfile(b *strings.Builder, rec *profile.Record) {
	if rec == nil {
		return
	}
	fmt.Fprintf(b, "  profile     %s backend, traces in %s (open them at https://ui.perfetto.dev)\n", rec.Options.Backend, rec.Dir)
	for _, st := range rec.Steps {
		fmt.Fprintf(b, "    %-9s %8.3f s%s\n", st.Action, st.WallS, stepDetail(st))
	}
	for _, t := range rec.Traces {
		fmt.Fprintln(b)
		profile.WriteTop(b, t.Path, t.Top)
	}
	if rec.Error != "" {
		fmt.Fprintf(b, "  profile failed: %s\n", rec.Error)
	}
}

func stepDetail(st profile.StepRecord) string {
	switch {
	case st.Rollout != nil:
		d := fmt.Sprintf("  %d prompts x n=%d, %d+%d tokens", st.Rollout.NumPrompts, st.Rollout.N, st.Rollout.InputLen, st.Rollout.OutputLen)
		if st.Shape.Range != "" {
			d += fmt.Sprintf(" in range %q", st.Shape.Range)
		}
		return d
	case st.Name != "":
		return "  " + st.Name
	}
	return ""
}
