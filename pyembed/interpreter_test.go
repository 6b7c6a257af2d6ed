//go:build !nopython

package pyembed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests share one interpreter: CPython starts once per process.
var testInterp *Interpreter

func TestMain(m *testing.M) {
	python := os.Getenv("ROLLBENCH_PYTHON")
	if python == "" {
		fmt.Fprintln(os.Stderr, "pyembed tests need ROLLBENCH_PYTHON, the python this binary links (make test sets it)")
		os.Exit(1)
	}
	testdata, _ := filepath.Abs("testdata")
	in, err := Start(Config{Python: python, Path: []string{testdata}, Env: map[string]string{testEnvKey: testEnvValue}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start interpreter:", err)
		os.Exit(1)
	}
	testInterp = in
	code := m.Run()
	if err := in.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		code = 1
	}
	if err := in.Do(context.Background(), func(*Scope) error { return nil }); !errors.Is(err, ErrClosed) {
		fmt.Fprintln(os.Stderr, "Do after Close: want ErrClosed, got", err)
		code = 1
	}
	os.Exit(code)
}

func do(t *testing.T, fn func(*Scope) error) {
	t.Helper()
	if err := testInterp.Do(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// The variable TestMain's Config.Env sets.
const testEnvKey, testEnvValue = "ROLLBENCH_PYEMBED_TEST_ENV", "set before start"

func TestEnvReachesOSEnviron(t *testing.T) {
	do(t, func(s *Scope) error {
		osm, err := s.Import("os")
		if err != nil {
			return err
		}
		v, err := osm.CallMethod("getenv", []any{testEnvKey}, nil)
		if err != nil {
			return err
		}
		if got, _ := v.Str(); got != testEnvValue {
			t.Errorf("os.getenv(%q) = %q, want %q", testEnvKey, got, testEnvValue)
		}
		return nil
	})
}

func TestStartTwice(t *testing.T) {
	_, err := Start(Config{Python: testInterp.Info().Executable})
	if err == nil || !strings.Contains(err.Error(), "already started") {
		t.Fatalf("second Start: got %v", err)
	}
}

func TestProbeRejects(t *testing.T) {
	dir := t.TempDir()
	// A stand-in for an interpreter of another version: a script that
	// answers the probe as Python 2.7 would.
	old := filepath.Join(dir, "python2.7")
	if err := os.WriteFile(old, []byte("#!/bin/sh\necho '{\"version\": \"2.7\", \"prefix\": \"/usr\"}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ python, want string }{
		{"", "no python executable given"},
		{filepath.Join(dir, "nope"), "no such file or directory"},
		{old, "is Python 2.7 but this binary is built for Python " + testInterp.Info().Version},
	} {
		if _, err := probe(tc.python); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("probe(%q) = %v, want error containing %q", tc.python, err, tc.want)
		}
	}
}

func TestInfo(t *testing.T) {
	info := testInterp.Info()
	do(t, func(s *Scope) error {
		sys, err := s.Import("sys")
		if err != nil {
			return err
		}
		exe, err := sys.Attr("executable")
		if err != nil {
			return err
		}
		// multiprocessing children start as sys.executable: it must be the
		// chosen python, not the Go binary.
		if got, _ := exe.Str(); got != info.Executable {
			t.Errorf("sys.executable = %q, want %q", got, info.Executable)
		}
		prefix, err := sys.Attr("prefix")
		if err != nil {
			return err
		}
		if got, _ := prefix.Str(); got != info.Prefix {
			t.Errorf("sys.prefix = %q, want %q", got, info.Prefix)
		}
		return nil
	})
}

func TestValuesRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    any
		types any
		back  any
	}{
		{"none", nil, "NoneType", nil},
		{"bool", true, "bool", true},
		{"int", 42, "int", int64(42)},
		{"negative int64", int64(-1 << 40), "int", int64(-1 << 40)},
		{"uint8", uint8(7), "int", int64(7)},
		{"float", 0.4, "float", 0.4},
		{"string", "héllo ✓", "str", "héllo ✓"},
		{"token ids", []int{1, 2, 3}, []any{"int", "int", "int"}, []any{int64(1), int64(2), int64(3)}},
		{"nested", map[string]any{"a": []any{1.5, "x"}, "b": map[string]int{"c": 3}},
			map[string]any{"a": []any{"float", "str"}, "b": map[string]any{"c": "int"}},
			map[string]any{"a": []any{1.5, "x"}, "b": map[string]any{"c": int64(3)}}},
		{"prompts", [][]int{{1}, {2, 3}}, []any{[]any{"int"}, []any{"int", "int"}},
			[]any{[]any{int64(1)}, []any{int64(2), int64(3)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			do(t, func(s *Scope) error {
				fx, err := s.Import("fixture")
				if err != nil {
					return err
				}
				names, err := fx.CallMethod("type_names", []any{tc.in}, nil)
				if err != nil {
					return err
				}
				gotTypes, err := names.Go()
				if err != nil {
					return err
				}
				if fmt.Sprint(gotTypes) != fmt.Sprint(tc.types) {
					t.Errorf("python types = %v, want %v", gotTypes, tc.types)
				}
				v, err := s.Value(tc.in)
				if err != nil {
					return err
				}
				back, err := v.Go()
				if err != nil {
					return err
				}
				if fmt.Sprintf("%#v", back) != fmt.Sprintf("%#v", tc.back) {
					t.Errorf("round trip = %#v, want %#v", back, tc.back)
				}
				return nil
			})
		})
	}
}

func TestValueRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{"channel", make(chan int), "cannot convert chan int"},
		{"int keys", map[int]int{1: 2}, "only string keys"},
		{"huge uint", uint64(1 << 63), "does not fit in int64"},
		{"nested bad", []any{1, struct{}{}}, "item 1: cannot convert struct {}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			do(t, func(s *Scope) error {
				if _, err := s.Value(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Value(%v) = %v, want error containing %q", tc.in, err, tc.want)
				}
				return nil
			})
		})
	}
}

func TestCallWithKwargs(t *testing.T) {
	do(t, func(s *Scope) error {
		fx, err := s.Import("fixture")
		if err != nil {
			return err
		}
		r, err := fx.CallMethod("echo", []any{1, "two"}, Kwargs{"n": 8, "temperature": 1.0, "ids": []int{5, 6}})
		if err != nil {
			return err
		}
		got, err := r.Go()
		if err != nil {
			return err
		}
		want := map[string]any{"args": []any{int64(1), "two"},
			"kwargs": map[string]any{"ids": []any{int64(5), int64(6)}, "n": int64(8), "temperature": 1.0}}
		if fmt.Sprintf("%v", got) != fmt.Sprintf("%v", want) {
			t.Errorf("echo = %v, want %v", got, want)
		}
		ints, err := s.Value([]int{9, 8, 7})
		if err != nil {
			return err
		}
		xs, err := ints.Ints()
		if err != nil {
			return err
		}
		if fmt.Sprint(xs) != "[9 8 7]" {
			t.Errorf("Ints = %v", xs)
		}
		if _, err := r.Ints(); err == nil || !strings.Contains(err.Error(), "expected list or tuple of ints, got dict") {
			t.Errorf("Ints of a dict: %v", err)
		}
		floats, err := s.Value([]any{-0.5, 2, -1e-30})
		if err != nil {
			return err
		}
		fs, err := floats.Floats()
		if err != nil {
			return err
		}
		if fmt.Sprint(fs) != "[-0.5 2 -1e-30]" {
			t.Errorf("Floats = %v", fs)
		}
		mixed, err := s.Value([]any{1.5, "x"})
		if err != nil {
			return err
		}
		if _, err := mixed.Floats(); err == nil || !strings.Contains(err.Error(), "item 1: expected float, got str") {
			t.Errorf("Floats of a str item: %v", err)
		}
		return nil
	})
}

func TestExceptions(t *testing.T) {
	for _, tc := range []struct {
		name, fn, typ, msg string
		traceback          []string
	}{
		{"chained", "fail_chained", "RuntimeError", "engine broke",
			[]string{"KeyError: 'missing'", "direct cause", "fixture.py", "RuntimeError: engine broke"}},
		{"module-qualified type", "fail_custom", "fixture.CustomError", "custom message",
			[]string{"fixture.CustomError: custom message"}},
		{"missing attribute", "no_such_function", "AttributeError", "module 'fixture' has no attribute 'no_such_function'", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := testInterp.Do(context.Background(), func(s *Scope) error {
				fx, err := s.Import("fixture")
				if err != nil {
					return err
				}
				_, err = fx.CallMethod(tc.fn, nil, nil)
				return err
			})
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("want *Error, got %T %v", err, err)
			}
			if pe.Type != tc.typ || pe.Message != tc.msg {
				t.Errorf("got %s: %s, want %s: %s", pe.Type, pe.Message, tc.typ, tc.msg)
			}
			for _, want := range tc.traceback {
				if !strings.Contains(pe.Traceback, want) {
					t.Errorf("traceback lacks %q:\n%s", want, pe.Traceback)
				}
			}
		})
	}
	// The error state was cleared: the next call works.
	do(t, func(s *Scope) error {
		_, err := s.Import("json")
		return err
	})
}

func TestImportMissing(t *testing.T) {
	err := testInterp.Do(context.Background(), func(s *Scope) error {
		_, err := s.Import("no_such_module_rollbench")
		return err
	})
	var pe *Error
	if !errors.As(err, &pe) || pe.Type != "ModuleNotFoundError" {
		t.Fatalf("got %v", err)
	}
	if want := "import no_such_module_rollbench: ModuleNotFoundError: No module named 'no_such_module_rollbench'"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestManyGoroutines(t *testing.T) {
	const workers, calls = 32, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				err := testInterp.Do(context.Background(), func(s *Scope) error {
					builtins, err := s.Import("builtins")
					if err != nil {
						return err
					}
					sum, err := builtins.CallMethod("sum", []any{[]int{w, i, 1}}, nil)
					if err != nil {
						return err
					}
					got, err := sum.Int()
					if err != nil {
						return err
					}
					if got != int64(w+i+1) {
						return fmt.Errorf("sum = %d, want %d", got, w+i+1)
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestHandleOutlivesScope(t *testing.T) {
	var h *Handle
	do(t, func(s *Scope) error {
		v, err := s.Value(map[string]any{"kept": []int{1, 2}})
		if err != nil {
			return err
		}
		h = v.Keep()
		return nil
	})
	do(t, func(s *Scope) error {
		got, err := s.Object(h).Go()
		if err != nil {
			return err
		}
		if fmt.Sprint(got) != "map[kept:[1 2]]" {
			t.Errorf("kept object = %v", got)
		}
		return nil
	})
	h.Release()
	h.Release()
}

func TestCancelInterruptsPython(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := testInterp.Do(ctx, func(s *Scope) error {
		fx, err := s.Import("fixture")
		if err != nil {
			return err
		}
		_, err = fx.CallMethod("spin", []any{30.0}, nil)
		return err
	})
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("cancelled call took %v", elapsed)
	}
	var pe *Error
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &pe) || pe.Type != "KeyboardInterrupt" {
		t.Fatalf("got %v, want deadline exceeded wrapping KeyboardInterrupt", err)
	}
	// No interrupt is left pending for the next call.
	do(t, func(s *Scope) error {
		fx, err := s.Import("fixture")
		if err != nil {
			return err
		}
		_, err = fx.CallMethod("spin", []any{0.05}, nil)
		return err
	})
}

// TestCancelWakesBlockedPython interrupts calls blocked where an
// asynchronous exception never arrives: in a lock wait, and in one that
// follows a swallowed KeyboardInterrupt.
func TestCancelWakesBlockedPython(t *testing.T) {
	for _, tc := range []struct {
		fn     string
		within time.Duration
	}{
		{"block_on_queue", time.Second},
		{"swallow_then_block", interruptAgain + time.Second},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			cause := errors.New("stopped by the test")
			time.AfterFunc(100*time.Millisecond, func() { cancel(cause) })
			start := time.Now()
			err := testInterp.Do(ctx, func(s *Scope) error {
				fx, err := s.Import("fixture")
				if err != nil {
					return err
				}
				_, err = fx.CallMethod(tc.fn, nil, nil)
				return err
			})
			if took := time.Since(start) - 100*time.Millisecond; took > tc.within {
				t.Errorf("returned %v after the cancel, want within %v", took, tc.within)
			}
			var pe *Error
			if !errors.Is(err, cause) || !errors.As(err, &pe) || pe.Type != "KeyboardInterrupt" {
				t.Fatalf("got %v, want the cause wrapping KeyboardInterrupt", err)
			}
			do(t, func(*Scope) error { return nil })
		})
	}
}

// TestWedged runs in a child process of its own, since a wedged
// interpreter is of no more use: a call that ignores its interrupt is given
// up GiveUp after it, and every call after it, and Close, fail at once.
func TestWedged(t *testing.T) {
	if os.Getenv("PYEMBED_WEDGE_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestWedged$", "-test.v")
		cmd.Env = append(os.Environ(), "PYEMBED_WEDGE_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "wedged as expected") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := testInterp.Do(ctx, func(s *Scope) error {
		fx, err := s.Import("fixture")
		if err != nil {
			return err
		}
		_, err = fx.CallMethod("sleep", []any{60.0}, nil)
		return err
	})
	if took := time.Since(start); !errors.Is(err, ErrWedged) || !errors.Is(err, context.DeadlineExceeded) || took > GiveUp+time.Second {
		t.Fatalf("after %v: got %v, want the deadline wrapping ErrWedged within %v", took, err, GiveUp+time.Second)
	}
	start = time.Now()
	if err := testInterp.Do(context.Background(), func(*Scope) error { return nil }); !errors.Is(err, ErrWedged) {
		t.Errorf("a later call: got %v, want ErrWedged", err)
	}
	if err := testInterp.Close(); !errors.Is(err, ErrWedged) {
		t.Errorf("Close: got %v, want ErrWedged", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the later call and Close took %v", took)
	}
	fmt.Println("wedged as expected")
	// TestMain would finalize the interpreter.
	os.Exit(0)
}

// TestPipe writes from Python and reads in Go: what fits arrives, what does
// not is refused at once, and closing the write end ends the reading.
func TestPipe(t *testing.T) {
	p, err := NewPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if flags, _, _ := syscall.Syscall(syscall.SYS_FCNTL, uintptr(p.Fd()), syscall.F_GETFD, 0); flags&syscall.FD_CLOEXEC == 0 {
		t.Error("the write end would be inherited by the engine's processes")
	}
	var refused any
	do(t, func(s *Scope) error {
		fixture, err := s.Import("fixture")
		if err != nil {
			return err
		}
		got, err := fixture.CallMethod("write_until_full", []any{p.Fd(), 1 << 12}, nil) // 4 MiB: more than a pipe holds
		if err != nil {
			return err
		}
		refused, err = got.Go()
		return err
	})
	if refused != "refused" {
		t.Errorf("a full pipe: %v, want the write refused", refused)
	}
	if err := p.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(p.Reader())
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || len(data)%1024 != 0 || strings.Trim(string(data), "x") != "" {
		t.Errorf("read %d bytes, want whole writes of x", len(data))
	}
}
