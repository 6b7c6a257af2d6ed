package result

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rollbench/rollbench/internal/golden"
	"github.com/rollbench/rollbench/workload"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testHeader is the header of a scored pass of the tiny model at w8a8, two
// prompts x two samples of at most three tokens.
func testHeader(samples int) SamplesHeader {
	return SamplesHeader{
		Rollbench:    "v0-test",
		Name:         "tiny_w8a8",
		ModelName:    "tiny",
		ModelPath:    "/models/tiny-w8a8",
		Quantization: workload.W8A8,
		EngineKwargs: map[string]any{"model": "/models/tiny-w8a8", "dtype": "bfloat16", "seed": 0.0, "logprobs_mode": "processed_logprobs", "enforce_eager": true},
		Sampling:     map[string]any{"n": 2.0, "temperature": 1.0, "top_p": 1.0, "ignore_eos": false, "max_tokens": 3.0, "logprobs": 0.0},
		VocabSize:    100,
		CreatedAt:    time.Date(2026, 12, 2, 19, 0, 0, 0, time.UTC),
		Samples:      samples,
	}
}

// testSamples are the samples of testHeader: the second prompt's first
// sample stopped early, at EOS.
func testSamples() []Sample {
	return []Sample{
		{Prompt: 0, Index: 0, PromptIDs: []int{5, 17, 42}, ResponseIDs: []int{7, 99, 0}, Logprobs: []float64{-4.60546875, -0.000244140625, -12.25}, FinishReason: "length"},
		{Prompt: 0, Index: 1, PromptIDs: []int{5, 17, 42}, ResponseIDs: []int{8, 8, 1}, Logprobs: []float64{-4.6171875, -3.9e-08, math.Copysign(0, -1)}, FinishReason: "length"},
		{Prompt: 1, Index: 0, PromptIDs: []int{3}, ResponseIDs: []int{2}, Logprobs: []float64{-0.6931471805599453}, FinishReason: "stop"},
		{Prompt: 1, Index: 1, PromptIDs: []int{3}, ResponseIDs: []int{64, 65, 66}, Logprobs: []float64{-1, -2, -3}, FinishReason: "length"},
	}
}

func writeSamples(t *testing.T, path string, h SamplesHeader, samples []Sample) {
	t.Helper()
	w, err := CreateSamples(path, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// readSamples reads the whole file at path, returning its first error.
func readSamples(path string) (SamplesHeader, []Sample, error) {
	r, err := OpenSamples(path)
	if err != nil {
		return SamplesHeader{}, nil, err
	}
	defer r.Close()
	var samples []Sample
	for {
		s, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Header(), samples, nil
		}
		if err != nil {
			return r.Header(), samples, err
		}
		samples = append(samples, s)
	}
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gunzipped(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSamplesRoundTrip(t *testing.T) {
	all := testSamples()
	for _, tc := range []struct {
		name    string
		samples []Sample
	}{
		{"one sample", all[:1]},
		{"prompts x samples, one stopped early", all},
		{"out of order", []Sample{all[3], all[0], all[2], all[1]}},
		{"empty response", []Sample{{Prompt: 7, Index: 3, PromptIDs: []int{1}, ResponseIDs: []int{}, Logprobs: []float64{}, FinishReason: "stop"}}},
		{"vocabulary's edges and float32 extremes", []Sample{{Prompt: 0, Index: 0, PromptIDs: []int{0, 99}, ResponseIDs: []int{99, 0, 50},
			Logprobs: []float64{-math.SmallestNonzeroFloat32, -math.MaxFloat32, -103.27892303466797}, FinishReason: "abort"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := SamplesPath(filepath.Join(t.TempDir(), "results"), "tiny_w8a8")
			writeSamples(t, path, testHeader(len(tc.samples)), tc.samples)
			h, got, err := readSamples(path)
			if err != nil {
				t.Fatal(err)
			}
			want := testHeader(len(tc.samples))
			want.Schema = SamplesSchema
			if !reflect.DeepEqual(h, want) {
				t.Errorf("header\n%+v\nwant\n%+v", h, want)
			}
			if !reflect.DeepEqual(got, tc.samples) {
				t.Fatalf("samples\n%+v\nwant\n%+v", got, tc.samples)
			}
			// DeepEqual takes -0 for 0: the bits must survive too.
			for i, s := range got {
				for j, lp := range s.Logprobs {
					if math.Float64bits(lp) != math.Float64bits(tc.samples[i].Logprobs[j]) {
						t.Errorf("sample %d log-prob %d: %v, wrote %v", i, j, lp, tc.samples[i].Logprobs[j])
					}
				}
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("files beside the samples: %v", entries)
			}
		})
	}
}

func TestSamplesGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny_w8a8"+SamplesExt)
	writeSamples(t, path, testHeader(4), testSamples())
	golden.Check(t, filepath.Join("testdata", "samples.jsonl"), gunzipped(t, path), *update)
}

// TestSamplesCreatedAt checks that a header without a time gets the
// writer's.
func TestSamplesCreatedAt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s"+SamplesExt)
	h := testHeader(1)
	h.CreatedAt = time.Time{}
	before := time.Now()
	writeSamples(t, path, h, testSamples()[:1])
	got, _, err := readSamples(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Before(before.Truncate(time.Second)) || got.CreatedAt.After(time.Now()) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("created_at %v, written after %v", got.CreatedAt, before)
	}
}

// sampleLines are the lines of the golden file, to corrupt one at a time.
func sampleLines(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "samples.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	return lines[:len(lines)-1] // what follows the last newline
}

func TestSamplesCorrupt(t *testing.T) {
	lines := sampleLines(t)
	header, s1, s2 := lines[0], lines[1], lines[2]
	valid := gzipped(t, []byte(strings.Join(lines, "")))
	replace := func(line, old, new string) string {
		if !strings.Contains(line, old) {
			t.Fatalf("%q is not in %s", old, line)
		}
		return strings.Replace(line, old, new, 1)
	}
	flipped := bytes.Clone(valid)
	flipped[len(flipped)-12] ^= 0xff // in the last deflate block
	checksum := bytes.Clone(valid)
	checksum[len(checksum)-8] ^= 0xff // the CRC-32 of the trailer
	z := func(content string) []byte { return gzipped(t, []byte(content)) }
	for _, tc := range []struct {
		name string
		file []byte
		// err is the error after the file's name. "line N" stands for any
		// line, where the compressed stream broke (which depends on how
		// compress/flate split it); a trailing "..." for the rest, the
		// decoder's own words.
		err string
	}{
		{"empty file", nil, "line 1: empty file: no header"},
		{"nothing compressed", gzipped(t, nil), "line 1: nothing compressed: no header"},
		{"not compressed", []byte(strings.Join(lines, "")), "line 1: not gzip-compressed: gzip: invalid header"},
		{"truncated in the middle", valid[:len(valid)/2], "line N: truncated: the compressed data ends early"},
		{"truncated in the trailer", valid[:len(valid)-3], "line N: truncated: the compressed data ends early"},
		{"corrupt block", flipped, "line N: corrupt compressed data: flate: corrupt input before offset ..."},
		{"corrupt checksum", checksum, "line 6: corrupt compressed data: gzip: invalid checksum"},
		{"header not JSON", z(`{"schema": "rollbench.samples/1",` + "\n" + s1), "line 1: not a samples header: ..."},
		{"no header", z(s1 + s2), "line 1: no schema: not the header of a samples file"},
		{"wrong schema", z(replace(header, SamplesSchema, Schema) + s1), `line 1: schema "rollbench.offline/1", not rollbench.samples/1`},
		{"no vocabulary size", z(replace(header, `"vocab_size":100`, `"vocab_size":0`) + s1), "line 1: vocab_size 0: the header needs the tokenizer's vocabulary size"},
		{"no samples counted", z(replace(header, `"samples":4`, `"samples":0`)), "line 1: the header counts 0 samples"},
		{"bad JSON line", z(header + s1 + `{"prompt":0,"sample":1,` + "\n"), "line 3: not a sample: ..."},
		{"blank line", z(header + s1 + "\n" + s2), "line 3: empty"},
		{"token id not an integer", z(header + replace(s1, "[7,99,0]", "[7,99.5,0]")), "line 2: not a sample: ..."},
		{"mismatched lengths", z(header + replace(s1, ",-12.25]", "]")), "line 2: 3 response tokens but 2 log-probs"},
		{"no log-probs", z(header + replace(s1, `"rollout_logprobs":[-4.60546875,-0.000244140625,-12.25],`, "")), `line 2: no "rollout_logprobs"`},
		{"response id past the vocabulary", z(header + replace(s1, "[7,99,0]", "[7,100,0]")), "line 2: response token 1 is id 100, outside the vocabulary (100 ids)"},
		{"negative prompt id", z(header + replace(s1, "[5,17,42]", "[5,-17,42]")), "line 2: prompt token 1 is id -17, outside the vocabulary (100 ids)"},
		{"empty prompt", z(header + replace(s1, "[5,17,42]", "[]")), `line 2: "prompt_ids" is empty`},
		{"positive log-prob", z(header + replace(s1, "-12.25", "0.5")), "line 2: log-prob 2 is 0.5: a sampled token's is finite and at most 0"},
		{"no sample index", z(header + replace(s1, `"sample":0,`, "")), `line 2: no "sample" index`},
		{"negative prompt index", z(header + replace(s1, `"prompt":0,`, `"prompt":-1,`)), `line 2: "prompt" index -1 is negative`},
		{"no finish reason", z(header + replace(s1, `,"finish_reason":"length"`, "")), `line 2: no "finish_reason"`},
		{"duplicate pair", z(header + s1 + s2 + replace(s1, "-12.25", "-1")), "line 4: prompt 0 sample 0 again (first on line 2)"},
		{"one prompt, other ids", z(header + s1 + replace(s2, "[5,17,42]", "[5,17,43]")), "line 3: prompt 0's token ids differ from those on line 2"},
		{"fewer samples than counted", z(header + s1 + s2), "line 4: the file ends after 2 samples; its header counts 4"},
		{"more samples than counted", z(replace(header, `"samples":4`, `"samples":1`) + s1 + s2), "line 3: one sample more than the 1 the header counts"},
		// A few kilobytes that expand into a line too long to hold.
		{"line too long", z(header + `{"prompt_ids":[` + strings.Repeat(" ", maxSamplesLine) + "1]}\n"), "line 2: longer than 64 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tiny_w8a8"+SamplesExt)
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err := readSamples(path)
			if err == nil {
				t.Fatalf("no error, want %s", tc.err)
			}
			want := regexp.QuoteMeta(path+" "+tc.err) + "$"
			want = strings.Replace(want, "line N", `line \d+`, 1)
			want = strings.Replace(want, `\.\.\.$`, "", 1)
			if !regexp.MustCompile("^" + want).MatchString(err.Error()) {
				t.Errorf("error\n%v\nwant\n%s %s", err, path, tc.err)
			}
		})
	}
}

// TestSamplesReaderSticky checks that a reader that failed keeps failing:
// the samples after a bad line are not the file's.
func TestSamplesReaderSticky(t *testing.T) {
	lines := sampleLines(t)
	path := filepath.Join(t.TempDir(), "s"+SamplesExt)
	bad := strings.Replace(lines[1], "[7,99,0]", "[7,100,0]", 1)
	if err := os.WriteFile(path, gzipped(t, []byte(lines[0]+bad+strings.Join(lines[2:], ""))), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := OpenSamples(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, first := r.Next()
	_, second := r.Next()
	if first == nil || second != first {
		t.Errorf("errors %v, then %v", first, second)
	}
}

func TestOpenSamplesMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none"+SamplesExt)
	if _, err := OpenSamples(path); err == nil || err.Error() != path+": no such file or directory" {
		t.Errorf("error %v", err)
	}
}

// TestSamplesWriterRefuses checks that the writer refuses what the reader
// would, and that a refused or unfinished file never replaces the one at
// its path.
func TestSamplesWriterRefuses(t *testing.T) {
	good := testSamples()
	short := good[0]
	short.Logprobs = short.Logprobs[:2]
	for _, tc := range []struct {
		name    string
		samples []Sample
		// err is Write's error ("" for none), then Close's.
		write, close string
	}{
		{"mismatched lengths", []Sample{good[0], short}, "line 3: 3 response tokens but 2 log-probs", ""},
		{"duplicate pair", []Sample{good[0], good[0]}, "line 3: prompt 0 sample 0 again (first on line 2)", ""},
		{"log-prob -Inf", []Sample{{Prompt: 0, Index: 0, PromptIDs: []int{1}, ResponseIDs: []int{2}, Logprobs: []float64{math.Inf(-1)}, FinishReason: "stop"}},
			"line 2: log-prob 0 is -Inf: a sampled token's is finite and at most 0", ""},
		{"log-prob NaN", []Sample{{Prompt: 0, Index: 0, PromptIDs: []int{1}, ResponseIDs: []int{2}, Logprobs: []float64{math.NaN()}, FinishReason: "stop"}},
			"line 2: log-prob 0 is NaN: a sampled token's is finite and at most 0", ""},
		{"too many", append(good[:4:4], Sample{Prompt: 2, Index: 0, PromptIDs: []int{1}, ResponseIDs: []int{}, Logprobs: []float64{}, FinishReason: "stop"}),
			"line 6: one sample more than the 4 the header counts", ""},
		{"too few", good[:3], "", ": 3 samples written, the header counts 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "tiny_w8a8"+SamplesExt)
			if err := os.WriteFile(path, []byte("earlier"), 0o644); err != nil {
				t.Fatal(err)
			}
			w, err := CreateSamples(path, testHeader(4))
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for _, s := range tc.samples {
				if werr = w.Write(s); werr != nil {
					break
				}
			}
			wantWrite := "write samples " + path + " " + tc.write
			if tc.write == "" && werr != nil || tc.write != "" && (werr == nil || werr.Error() != wantWrite) {
				t.Errorf("Write: %v, want %s", werr, tc.write)
			}
			if tc.write != "" {
				if err := w.Write(good[3]); err != werr {
					t.Errorf("Write after a failure: %v", err)
				}
			}
			wantClose := "write samples " + path + tc.close
			if tc.close == "" {
				wantClose = wantWrite
			}
			if err := w.Close(); err == nil || err.Error() != wantClose {
				t.Errorf("Close: %v, want %s", err, wantClose)
			}
			if data, _ := os.ReadFile(path); string(data) != "earlier" {
				t.Errorf("the file at the path holds %q", data)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("files left: %v", entries)
			}
		})
	}
}

func TestCreateSamplesRefuses(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	noVocab := testHeader(4)
	noVocab.VocabSize = 0
	for _, tc := range []struct {
		name, path string
		header     SamplesHeader
		err        string
	}{
		{"no vocabulary size", filepath.Join(dir, "s"+SamplesExt), noVocab, ": vocab_size 0: the header needs the tokenizer's vocabulary size"},
		{"no samples", filepath.Join(dir, "s"+SamplesExt), testHeader(0), ": the header counts 0 samples"},
		{"below a file", filepath.Join(blocker, "s"+SamplesExt), testHeader(4), ": mkdir " + blocker + ": not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CreateSamples(tc.path, tc.header)
			if want := "write samples " + tc.path + tc.err; err == nil || err.Error() != want {
				t.Errorf("error %v, want %s", err, want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
}

func TestSamplesWriterClosedTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s"+SamplesExt)
	w, err := CreateSamples(path, testHeader(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(testSamples()[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Write(testSamples()[1]); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if _, got, err := readSamples(path); err != nil || len(got) != 1 {
		t.Errorf("read %d samples, error %v", len(got), err)
	}
}

// FuzzOpenSamples reads any bytes as a samples file, compressed as they
// come and compressed by the test: the reader must return samples or an
// error, never panic, and what it accepts the writer must write back to a
// file that reads the same.
func FuzzOpenSamples(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "samples.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(gzipped(f, data))
	lines := strings.SplitAfter(string(data), "\n")
	f.Add([]byte(lines[0] + lines[2] + lines[1]))
	f.Add([]byte(strings.Replace(lines[0], `"samples":4`, `"samples":1`, 1) + lines[3]))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		for i, file := range [][]byte{data, gzipped(t, data)} {
			path := filepath.Join(dir, "in"+SamplesExt)
			if err := os.WriteFile(path, file, 0o644); err != nil {
				t.Fatal(err)
			}
			h, samples, err := readSamples(path)
			if err != nil {
				if !strings.HasPrefix(err.Error(), path+" line ") {
					t.Errorf("input %d: error names no line: %v", i, err)
				}
				continue
			}
			if len(samples) != h.Samples {
				t.Fatalf("input %d: read %d samples, the header counts %d", i, len(samples), h.Samples)
			}
			again := filepath.Join(dir, "again"+SamplesExt)
			writeSamples(t, again, h, samples)
			h2, samples2, err := readSamples(again)
			if err != nil {
				t.Fatalf("input %d: rewritten: %v", i, err)
			}
			if !reflect.DeepEqual(samples2, samples) || h2.VocabSize != h.VocabSize || h2.Samples != h.Samples {
				t.Fatalf("input %d: rewritten, reads\n%+v\n%+v\nnot\n%+v\n%+v", i, h2, samples2, h, samples)
			}
		}
	})
}
