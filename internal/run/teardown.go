//go:build !nopython

package run

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rollbench/rollbench/internal/supervise"
)

// watchEngine returns a context that ends, with the death as its cause,
// when one of the engine's processes dies while the run waits on it: vLLM
// may never notice (see supervise.EngineWatch). It ends deathGrace after
// the death, so that where vLLM does notice (an engine core that dies in
// its start-up) its own error, with the root cause it points to, is what
// the run reports. finish ends the watch and names the death in the run's
// error.
func watchEngine(ctx context.Context) (_ context.Context, finish func(error) error) {
	ctx, cancel := context.WithCancelCause(ctx)
	var death atomic.Pointer[error]
	w := supervise.WatchEngine(func(err error) {
		death.Store(&err)
		time.AfterFunc(deathGrace, func() { cancel(err) })
	})
	return context.WithValue(ctx, watchKey{}, w), func(err error) error {
		w.Stop()
		cancel(nil)
		if d := death.Load(); d != nil && err != nil && !errors.Is(err, *d) {
			return fmt.Errorf("%w: %w", *d, err)
		}
		return err
	}
}

// deathGrace is how long vLLM is given to report a death it noticed.
const deathGrace = 3 * time.Second

type watchKey struct{}

// teardownLimit bounds an engine's shutdown (1-2 s on this machine; vLLM
// kills what is left of its processes after 5 s); past it the shutdown is
// interrupted, and whatever of the engine is left dies with rollbench.
// Replicas on Ray take longer: every engine's shutdown, then the cluster's
// (7 s for two replicas on this machine, loaded).
const (
	teardownLimit        = 8 * time.Second
	replicaTeardownLimit = 40 * time.Second
)

// closer is an engine, or the replicas of a data-parallel step.
type closer interface{ Close(context.Context) error }

// shutDown stops eng's processes. It runs even when ctx was cancelled,
// since it is what returns the device memory, and their exits are then no
// failure; but within teardownLimit, and the interpreter's GiveUp after it.
func shutDown(ctx context.Context, eng closer) error {
	return shutDownWithin(ctx, eng, teardownLimit)
}

func shutDownWithin(ctx context.Context, eng closer, limit time.Duration) error {
	if w, ok := ctx.Value(watchKey{}).(*supervise.EngineWatch); ok {
		w.Expect()
	}
	ctx, cancel := context.WithTimeoutCause(context.WithoutCancel(ctx), limit,
		fmt.Errorf("the engine's teardown took longer than %s", limit))
	defer cancel()
	return eng.Close(ctx)
}
