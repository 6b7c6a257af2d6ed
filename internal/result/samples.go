package result

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/rollbench/rollbench/workload"
)

// A samples file holds the samples of a scored pass as data, for scoring
// now or later elsewhere: gzip-compressed JSON lines, a SamplesHeader on the
// first, then one Sample a line. SamplesSchema names its layout; it changes
// when a field changes meaning.
const SamplesSchema = "rollbench.samples/1"

// SamplesExt ends the name of the samples file of a result NAME.
const SamplesExt = ".samples.jsonl.gz"

// SamplesPath is the samples file of the result name in dir.
func SamplesPath(dir, name string) string { return filepath.Join(dir, name+SamplesExt) }

// SamplesHeader is the first line of a samples file: which experiment and
// which pass the samples came from, enough to refuse scoring them against
// another model.
type SamplesHeader struct {
	Schema    string `json:"schema"`
	Rollbench string `json:"rollbench_version"`
	Name      string `json:"name"`
	ModelName string `json:"model_name"`
	ModelPath string `json:"model_path"`
	// Quantization is the rollout checkpoint's, whose log-probs the
	// samples carry.
	Quantization workload.Quantization `json:"quantization"`
	// EngineKwargs and Sampling are exactly the arguments LLM(...) and
	// SamplingParams(...) of the scored pass were given (not the measured
	// pass's: the scored one asks for log-probs), as a map so that a file
	// written by another tool keeps all of its own.
	EngineKwargs map[string]any `json:"engine_kwargs"`
	Sampling     map[string]any `json:"sampling_params"`
	// VocabSize is the number of ids the tokenizer knows; every token id
	// is below it.
	VocabSize int `json:"vocab_size"`
	// VocabHash and Shape identify the tokenizer's vocabulary and the
	// model, so that a reference of another one is refused; a file
	// written elsewhere may leave them out.
	VocabHash string      `json:"vocab_sha256,omitempty"`
	Shape     *ModelShape `json:"model_shape,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
	// Samples is how many sample lines follow, so that a file cut short
	// at a line's end is known to be.
	Samples int `json:"samples"`
}

// Sample is one sampled response of a scored pass. Its slices are never nil
// (nil is how a line without the field reads): an empty response has empty
// ones.
type Sample struct {
	// Prompt is the prompt's index in the pass, Index the sample's among
	// that prompt's.
	Prompt      int   `json:"prompt"`
	Index       int   `json:"sample"`
	PromptIDs   []int `json:"prompt_ids"`
	ResponseIDs []int `json:"response_ids"`
	// Logprobs are the rollout engine's log-probs of the response tokens,
	// one a token. Float64 keeps whatever the engine gave exactly (vLLM's
	// float32 values too), so that scoring the file reproduces the run.
	Logprobs     []float64 `json:"rollout_logprobs"`
	FinishReason string    `json:"finish_reason"`
}

// check is what the header must hold for its samples to be checked.
func (h SamplesHeader) check() error {
	switch {
	case h.Schema == "":
		return errors.New("no schema: not the header of a samples file")
	case h.Schema != SamplesSchema:
		return fmt.Errorf("schema %q, not %s", h.Schema, SamplesSchema)
	case h.VocabSize <= 0:
		return fmt.Errorf("vocab_size %d: the header needs the tokenizer's vocabulary size", h.VocabSize)
	case h.Samples <= 0:
		return fmt.Errorf("the header counts %d samples", h.Samples)
	}
	return nil
}

// sampleCheck holds what the samples of one file must agree on. Writer and
// reader share it, so the writer never writes a file the reader refuses.
type sampleCheck struct {
	vocab, want int
	// n counts the samples accepted; sample n is on line n+2.
	n int
	// seen is the line of each (prompt, sample) pair; prompts the line and
	// a hash of the token ids of each prompt's first sample.
	seen    map[[2]int]int
	prompts map[int]promptSeen
	scratch []byte
}

type promptSeen struct {
	line int
	hash uint64
}

func newSampleCheck(h SamplesHeader) sampleCheck {
	return sampleCheck{vocab: h.VocabSize, want: h.Samples, seen: map[[2]int]int{}, prompts: map[int]promptSeen{}}
}

// line is the line the next sample goes on.
func (c *sampleCheck) line() int { return c.n + 2 }

// unset marks the integers a sample line did not give.
const unset = math.MinInt

// add accepts s as the next sample or says what is wrong with it.
func (c *sampleCheck) add(s Sample) error {
	if c.n == c.want {
		return fmt.Errorf("one sample more than the %d the header counts", c.want)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"prompt", s.Prompt}, {"sample", s.Index}} {
		switch {
		case f.v == unset:
			return fmt.Errorf("no %q index", f.name)
		case f.v < 0:
			return fmt.Errorf("%q index %d is negative", f.name, f.v)
		}
	}
	switch {
	case s.PromptIDs == nil:
		return errors.New(`no "prompt_ids"`)
	case len(s.PromptIDs) == 0:
		return errors.New(`"prompt_ids" is empty`)
	case s.ResponseIDs == nil:
		return errors.New(`no "response_ids"`)
	case s.Logprobs == nil:
		return errors.New(`no "rollout_logprobs"`)
	case len(s.Logprobs) != len(s.ResponseIDs):
		return fmt.Errorf("%d response tokens but %d log-probs", len(s.ResponseIDs), len(s.Logprobs))
	case s.FinishReason == "":
		return errors.New(`no "finish_reason"`)
	}
	if err := c.inVocab("prompt", s.PromptIDs); err != nil {
		return err
	}
	if err := c.inVocab("response", s.ResponseIDs); err != nil {
		return err
	}
	for i, lp := range s.Logprobs {
		// !(lp <= 0) also holds for NaN.
		if !(lp <= 0) || math.IsInf(lp, -1) {
			return fmt.Errorf("log-prob %d is %v: a sampled token's is finite and at most 0", i, lp)
		}
	}
	key := [2]int{s.Prompt, s.Index}
	if first, ok := c.seen[key]; ok {
		return fmt.Errorf("prompt %d sample %d again (first on line %d)", s.Prompt, s.Index, first)
	}
	hash := c.hash(s.PromptIDs)
	p, ok := c.prompts[s.Prompt]
	if ok && p.hash != hash {
		return fmt.Errorf("prompt %d's token ids differ from those on line %d", s.Prompt, p.line)
	}
	if !ok {
		c.prompts[s.Prompt] = promptSeen{line: c.line(), hash: hash}
	}
	c.seen[key] = c.line()
	c.n++
	return nil
}

func (c *sampleCheck) inVocab(what string, ids []int) error {
	for i, id := range ids {
		if id < 0 || id >= c.vocab {
			return fmt.Errorf("%s token %d is id %d, outside the vocabulary (%d ids)", what, i, id, c.vocab)
		}
	}
	return nil
}

// hash tells one prompt's token ids from another's without keeping them:
// a file may hold millions of prompts.
func (c *sampleCheck) hash(ids []int) uint64 {
	c.scratch = c.scratch[:0]
	for _, id := range ids {
		c.scratch = binary.LittleEndian.AppendUint64(c.scratch, uint64(id))
	}
	h := fnv.New64a()
	h.Write(c.scratch)
	return h.Sum64()
}

// SamplesWriter streams samples into a samples file, which appears at its
// path, whole, only when Close succeeds.
type SamplesWriter struct {
	path  string
	file  *atomicFile
	buf   *bufio.Writer
	gz    *gzip.Writer
	enc   *json.Encoder
	check sampleCheck
	// err is the first failure: after it nothing is written and Close
	// discards the file.
	err error
}

// CreateSamples starts the samples file at path with its header, whose
// Schema it sets and CreatedAt, when zero, to now. h.Samples is the
// number of samples that must be written before Close.
func CreateSamples(path string, h SamplesHeader) (*SamplesWriter, error) {
	h.Schema = SamplesSchema
	if h.CreatedAt.IsZero() {
		h.CreatedAt = time.Now().UTC()
	}
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("write samples %s: %w", path, err)
	}
	file, err := createAtomic(path)
	if err != nil {
		return nil, fmt.Errorf("write samples %s: %w", path, err)
	}
	w := &SamplesWriter{path: path, file: file, check: newSampleCheck(h)}
	// flate writes in pieces of a few hundred bytes.
	w.buf = bufio.NewWriterSize(file, 1<<16)
	w.gz = gzip.NewWriter(w.buf)
	w.enc = json.NewEncoder(w.gz)
	w.enc.SetEscapeHTML(false)
	if err := w.enc.Encode(h); err != nil {
		file.discard()
		return nil, fmt.Errorf("write samples %s: %w", path, err)
	}
	return w, nil
}

// Write adds s, the next sample, after checking it as the reader will.
func (w *SamplesWriter) Write(s Sample) error {
	if w.err != nil {
		return w.err
	}
	line := w.check.line()
	if err := w.check.add(s); err != nil {
		w.err = fmt.Errorf("write samples %s line %d: %w", w.path, line, err)
		return w.err
	}
	if err := w.enc.Encode(s); err != nil {
		w.err = fmt.Errorf("write samples %s: %w", w.path, err)
	}
	return w.err
}

// Close puts the file at its path when every sample the header counts was
// written. Otherwise, or after a failed Write, it leaves no file and
// whatever was at the path, and says why.
func (w *SamplesWriter) Close() error {
	if w.file == nil {
		return fmt.Errorf("write samples %s: %w", w.path, fs.ErrClosed)
	}
	file := w.file
	w.file = nil
	err := w.err
	if err == nil && w.check.n != w.check.want {
		err = fmt.Errorf("write samples %s: %d samples written, the header counts %d", w.path, w.check.n, w.check.want)
	}
	if err != nil {
		file.discard()
		w.err = err
		return err
	}
	w.err = fmt.Errorf("write samples %s: %w", w.path, fs.ErrClosed)
	// The first error says what went wrong; Flush runs regardless.
	if err := cmp.Or(w.gz.Close(), w.buf.Flush()); err != nil {
		file.discard()
		return fmt.Errorf("write samples %s: %w", w.path, err)
	}
	if err := file.commit(); err != nil {
		return fmt.Errorf("write samples %s: %w", w.path, err)
	}
	return nil
}

// maxSamplesLine bounds a line, so that a corrupt file (gzip expands a few
// kilobytes into gigabytes) cannot take the memory: a sample of 128k prompt
// and 128k response tokens takes about 5 MiB.
const maxSamplesLine = 64 << 20

// SamplesReader reads a samples file, checking every line as it goes. The
// samples it returned are the file's only once Next has returned io.EOF:
// a file cut short or corrupt further on fails there.
type SamplesReader struct {
	path   string
	file   *os.File
	gz     *gzip.Reader
	r      *bufio.Reader
	header SamplesHeader
	check  sampleCheck
	line   []byte
	// err is the error every later Next returns, io.EOF at the end.
	err error
}

// OpenSamples opens the samples file at path and reads its header.
func OpenSamples(path string) (*SamplesReader, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, pathCause(err))
	}
	r := &SamplesReader{path: path, file: file}
	if err := r.open(); err != nil {
		file.Close()
		return nil, err
	}
	return r, nil
}

func (r *SamplesReader) open() error {
	gz, err := gzip.NewReader(bufio.NewReader(r.file))
	switch {
	case errors.Is(err, io.EOF):
		return r.fail(1, errors.New("empty file: no header"))
	case err != nil:
		return r.fail(1, fmt.Errorf("not gzip-compressed: %w", err))
	}
	r.gz = gz
	r.r = bufio.NewReader(gz)
	line, err := r.readLine()
	switch {
	case errors.Is(err, io.EOF) && len(line) == 0:
		return r.fail(1, errors.New("nothing compressed: no header"))
	case err != nil && !errors.Is(err, io.EOF):
		return r.fail(1, streamError(err))
	}
	if err := json.Unmarshal(line, &r.header); err != nil {
		return r.fail(1, fmt.Errorf("not a samples header: %w", err))
	}
	if err := r.header.check(); err != nil {
		return r.fail(1, err)
	}
	r.check = newSampleCheck(r.header)
	return nil
}

// fail is err as it happened on line: naming the file and the line.
func (r *SamplesReader) fail(line int, err error) error {
	return fmt.Errorf("%s line %d: %w", r.path, line, err)
}

// Header is the file's header.
func (r *SamplesReader) Header() SamplesHeader { return r.header }

// Next returns the next sample, or io.EOF after the last one once the
// file has proved whole.
func (r *SamplesReader) Next() (Sample, error) {
	if r.err != nil {
		return Sample{}, r.err
	}
	s, err := r.next()
	r.err = err
	return s, err
}

func (r *SamplesReader) next() (Sample, error) {
	at := r.check.line()
	line, err := r.readLine()
	switch {
	case errors.Is(err, io.EOF) && len(line) == 0:
		if r.check.n < r.check.want {
			return Sample{}, r.fail(at, fmt.Errorf("the file ends after %d samples; its header counts %d", r.check.n, r.check.want))
		}
		return Sample{}, io.EOF
	case err != nil && !errors.Is(err, io.EOF):
		return Sample{}, r.fail(at, streamError(err))
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return Sample{}, r.fail(at, errors.New("empty"))
	}
	s := Sample{Prompt: unset, Index: unset}
	if err := json.Unmarshal(line, &s); err != nil {
		return Sample{}, r.fail(at, fmt.Errorf("not a sample: %w", err))
	}
	if err := r.check.add(s); err != nil {
		return Sample{}, r.fail(at, err)
	}
	return s, nil
}

// readLine reads up to and including the next newline, at most
// maxSamplesLine bytes; the line is valid until the next call.
func (r *SamplesReader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	for {
		chunk, err := r.r.ReadSlice('\n')
		if len(r.line)+len(chunk) > maxSamplesLine {
			return nil, fmt.Errorf("longer than %d MiB", maxSamplesLine>>20)
		}
		r.line = append(r.line, chunk...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return r.line, err
		}
	}
}

// streamError says what a failed read of the compressed stream means.
func streamError(err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("truncated: the compressed data ends early")
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, &corrupt):
		return fmt.Errorf("corrupt compressed data: %w", err)
	}
	return err
}

// Close closes the file.
func (r *SamplesReader) Close() error {
	return r.file.Close()
}
