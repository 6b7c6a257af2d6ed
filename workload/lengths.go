package workload

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
)

// LengthDist is a distribution of response lengths, one drawn per sample, so
// that a step has the spread of lengths a real RL run has rather than every
// sample generating the same number of tokens.
type LengthDist struct {
	// Spec is the text it was parsed from, such as lognormal:120,0.8,256.
	Spec string `json:"spec"`
	Kind string `json:"kind"`
	// Min and Max bound the lengths: equal for fixed, the range for
	// uniform; Max is the cap of lognormal and the longest line of a file.
	Min int `json:"min"`
	Max int `json:"max"`
	// Median and Sigma are lognormal's: exp of the mean and the standard
	// deviation of the log length.
	Median float64 `json:"median,omitempty"`
	Sigma  float64 `json:"sigma,omitempty"`
	// Lengths are a file's lines, kept so that a child process or a rerun
	// of the result does not need the file.
	Lengths []int `json:"lengths,omitempty"`
}

// The kinds of distribution.
const (
	DistFixed     = "fixed"
	DistUniform   = "uniform"
	DistLognormal = "lognormal"
	DistFile      = "file"
)

// ParseLengthDist reads fixed:N, uniform:LO-HI, lognormal:MEDIAN,SIGMA,MAX or
// file:PATH (one length per line; blank lines and lines starting with # are
// skipped). The error names what is wrong, not the flag.
func ParseLengthDist(spec string) (LengthDist, error) {
	kind, arg, ok := strings.Cut(spec, ":")
	d := LengthDist{Spec: spec, Kind: kind}
	if !ok || arg == "" {
		return d, fmt.Errorf("%q is not fixed:N, uniform:LO-HI, lognormal:MEDIAN,SIGMA,MAX or file:PATH", spec)
	}
	switch kind {
	case DistFixed:
		n, err := positive(arg, "length")
		d.Min, d.Max = n, n
		return d, err
	case DistUniform:
		lo, hi, ok := strings.Cut(arg, "-")
		if !ok {
			return d, fmt.Errorf("uniform:%s: want uniform:LO-HI such as uniform:64-256", arg)
		}
		var err error
		if d.Min, err = positive(lo, "uniform's LO"); err != nil {
			return d, err
		}
		if d.Max, err = positive(hi, "uniform's HI"); err != nil {
			return d, err
		}
		if d.Min > d.Max {
			return d, fmt.Errorf("uniform:%s: LO %d is above HI %d", arg, d.Min, d.Max)
		}
		return d, nil
	case DistLognormal:
		parts := strings.Split(arg, ",")
		if len(parts) != 3 {
			return d, fmt.Errorf("lognormal:%s: want lognormal:MEDIAN,SIGMA,MAX such as lognormal:120,0.8,256", arg)
		}
		var err error
		if d.Median, err = strconv.ParseFloat(parts[0], 64); err != nil || !(d.Median >= 1) {
			return d, fmt.Errorf("lognormal's MEDIAN %q must be a number of at least 1", parts[0])
		}
		if d.Sigma, err = strconv.ParseFloat(parts[1], 64); err != nil || !(d.Sigma >= 0) || math.IsInf(d.Sigma, 0) {
			return d, fmt.Errorf("lognormal's SIGMA %q must be a finite number of at least 0", parts[1])
		}
		if d.Max, err = positive(parts[2], "lognormal's MAX"); err != nil {
			return d, err
		}
		if d.Median > float64(d.Max) {
			return d, fmt.Errorf("lognormal's MEDIAN %g is above its MAX %d", d.Median, d.Max)
		}
		d.Min = 1
		return d, nil
	case DistFile:
		f, err := os.Open(arg)
		if err != nil {
			return d, fmt.Errorf("length file: %w", err)
		}
		defer f.Close()
		if d.Lengths, err = readLengths(f); err != nil {
			return d, fmt.Errorf("length file %s: %w", arg, err)
		}
		d.Min, d.Max = d.Lengths[0], d.Lengths[0]
		for _, n := range d.Lengths {
			d.Min, d.Max = min(d.Min, n), max(d.Max, n)
		}
		return d, nil
	}
	return d, fmt.Errorf("unknown distribution %q (want fixed, uniform, lognormal or file)", kind)
}

func positive(s, what string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s %q must be a whole number of at least 1", what, s)
	}
	return n, nil
}

func readLengths(r io.Reader) ([]int, error) {
	var lengths []int
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		n, err := positive(text, fmt.Sprintf("line %d:", line))
		if err != nil {
			return nil, err
		}
		lengths = append(lengths, n)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(lengths) == 0 {
		return nil, errors.New("no lengths in it (want one positive number per line)")
	}
	return lengths, nil
}

// Sample draws count lengths in [Min, Max]. The draw depends only on the
// seed, so every engine and quantization gets the same lengths in the same
// order; a file's lengths are drawn with replacement.
func (d LengthDist) Sample(seed, count int) []int {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6c656e6774687321)) // "lengths!"
	out := make([]int, count)
	for i := range out {
		switch d.Kind {
		case DistUniform:
			out[i] = d.Min + rng.IntN(d.Max-d.Min+1)
		case DistLognormal:
			x := math.Round(d.Median * math.Exp(d.Sigma*rng.NormFloat64()))
			out[i] = int(min(max(x, 1), float64(d.Max)))
		case DistFile:
			out[i] = d.Lengths[rng.IntN(len(d.Lengths))]
		default:
			out[i] = d.Max
		}
	}
	return out
}
