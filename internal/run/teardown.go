//go:build !nopython

package run

import (
	"context"
	"fmt"
	"time"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/supervise"
)

// watchEngine returns a context that ends, with the death as its cause,
// when one of the engine's processes dies while the run waits on it: vLLM
// may never notice (see supervise.EngineWatch). stop ends the watch.
func watchEngine(ctx context.Context) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := supervise.WatchEngine(cancel)
	return context.WithValue(ctx, watchKey{}, w), func() {
		w.Stop()
		cancel(nil)
	}
}

type watchKey struct{}

// teardownLimit bounds an engine's shutdown (1-2 s on this machine; vLLM
// kills what is left of its processes after 5 s); past it the shutdown is
// interrupted, and whatever of the engine is left dies with rollbench.
const teardownLimit = 8 * time.Second

// shutDown stops eng's processes. It runs even when ctx was cancelled,
// since it is what returns the device memory, and their exits are then no
// failure; but within teardownLimit, and the interpreter's GiveUp after it.
func shutDown(ctx context.Context, eng *engine.Engine) error {
	if w, ok := ctx.Value(watchKey{}).(*supervise.EngineWatch); ok {
		w.Expect()
	}
	ctx, cancel := context.WithTimeoutCause(context.WithoutCancel(ctx), teardownLimit,
		fmt.Errorf("the engine's teardown took longer than %s", teardownLimit))
	defer cancel()
	return eng.Close(ctx)
}
