//go:build !nopython

package engine

import (
	"bufio"
	"fmt"
	"strconv"

	"github.com/rollbench/rollbench/internal/progress"
	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/workload"
)

// sampleHook shows a sync LLM.generate's finished samples while it runs.
// vLLM's loop drives rollbench.progress.SampleCounter as its tqdm bar; the
// counter writes each running count to a pipe, and a goroutine that never
// takes the GIL reads them into the display.
type sampleHook struct {
	counter pyembed.Object // the SampleCounter, for use_tqdm
	pipe    *pyembed.Pipe
	read    chan struct{} // closed when the reader has seen the last count
}

// startSampleHook makes the counter for a call that finishes total samples.
func startSampleHook(s *pyembed.Scope, show *progress.Display, total int) (*sampleHook, error) {
	mod, err := s.Import("rollbench.progress")
	if err != nil {
		return nil, err
	}
	pipe, err := pyembed.NewPipe()
	if err != nil {
		return nil, fmt.Errorf("sample counter: %w", err)
	}
	counter, err := mod.CallMethod("SampleCounter", []any{pipe.Fd()}, nil)
	if err != nil {
		pipe.Close()
		return nil, fmt.Errorf("sample counter: %w", err)
	}
	h := &sampleHook{counter: counter, pipe: pipe, read: make(chan struct{})}
	show.Samples(0, total)
	go func() {
		defer close(h.read)
		sc := bufio.NewScanner(pipe.Reader())
		for sc.Scan() {
			if done, err := strconv.Atoi(sc.Text()); err == nil {
				show.Samples(done, total)
			}
		}
	}()
	return h, nil
}

// stop ends the count once the call has returned.
func (h *sampleHook) stop() {
	_ = h.pipe.CloseWrite()
	<-h.read
	_ = h.pipe.Close()
}

// samples counts the samples of a generate call: params is one
// SamplingParams for every prompt, or one per prompt.
func samples(prompts [][]int, params []workload.Sampling) int {
	total := 0
	for i := range prompts {
		total += params[min(i, len(params)-1)].N
	}
	return total
}
