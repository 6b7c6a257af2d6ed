package dataset

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Truncation is what happens to a prompt longer than the limit, under
// verl's names (data.truncation).
type Truncation string

// verl's truncation settings; TruncateError is its default.
const (
	TruncateError  Truncation = "error"
	TruncateLeft   Truncation = "left"
	TruncateRight  Truncation = "right"
	TruncateMiddle Truncation = "middle"
)

// Truncations lists the settings, verl's default first.
var Truncations = []Truncation{TruncateError, TruncateLeft, TruncateRight, TruncateMiddle}

// Handling is how prompts longer than the limit are treated: verl's
// data.filter_overlong_prompts (default false) and data.truncation
// (default error).
type Handling struct {
	FilterOverlong bool       `json:"filter_overlong_prompts"`
	Truncation     Truncation `json:"truncation"`
}

// Info is what a result records about the prompts a dataset gave.
type Info struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Format string `json:"format"`
	Handling
	// RowsRead counts the file's rows; RowsKept those left after the
	// overlong filter (all of them without it).
	RowsRead int `json:"rows_read"`
	RowsKept int `json:"rows_kept"`
	// Drawn counts the prompts the step took from the kept rows, Reused
	// says some row was taken more than once (fewer rows than prompts),
	// and Truncated counts the drawn prompts that were cut to the limit.
	Drawn     int  `json:"drawn"`
	Reused    bool `json:"reused,omitempty"`
	Truncated int  `json:"truncated"`
	// PromptTokens describes the lengths of the drawn prompts, templated
	// and tokenized, after truncation.
	PromptTokens Lengths `json:"prompt_tokens"`
}

// Lengths summarizes prompt lengths in tokens.
type Lengths struct {
	Min  int     `json:"min"`
	Mean float64 `json:"mean"`
	Max  int     `json:"max"`
}

// Select chooses count prompts from the tokenized rows of f (tokens[i] is
// row i with the chat template applied) for a step whose prompts may have
// at most limit tokens: overlong rows are dropped first when h says so, as
// verl does when it loads the dataset; then the kept rows are drawn in an
// order shuffled by seed (starting over, reshuffled, when count exceeds
// them, as a dataloader's next epoch would); then a drawn prompt still
// over the limit is cut, or refused under TruncateError.
func Select(f *File, tokens [][]int, limit, count, seed int, h Handling) ([][]int, Info, error) {
	info := Info{Path: f.Path, SHA256: f.SHA256, Format: f.Format, Handling: h, RowsRead: len(tokens)}
	var kept []int
	for i, t := range tokens {
		if !h.FilterOverlong || len(t) <= limit {
			kept = append(kept, i)
		}
	}
	info.RowsKept = len(kept)
	if len(kept) == 0 {
		shortest := slices.MinFunc(tokens, func(a, b []int) int { return len(a) - len(b) })
		return nil, info, fmt.Errorf("all %d prompts of %s are longer than --input-len %d tokens once templated (the shortest has %d), so --filter-overlong-prompts leaves none",
			len(tokens), f.Path, limit, len(shortest))
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x64617461736574)) // "dataset"
	var order []int
	prompts := make([][]int, 0, count)
	for len(prompts) < count {
		if len(order) == 0 {
			order = slices.Clone(kept)
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			info.Reused = info.Reused || len(prompts) > 0
		}
		row := order[0]
		order = order[1:]
		p, cut, err := truncate(tokens[row], limit, h.Truncation)
		if err != nil {
			return nil, info, fmt.Errorf("%s row %d: %w", f.Path, row, err)
		}
		if cut {
			info.Truncated++
		}
		prompts = append(prompts, p)
	}
	info.Drawn = len(prompts)
	info.PromptTokens = lengths(prompts)
	return prompts, info, nil
}

// truncate cuts ids to limit tokens the way verl's RLHFDataset does: left
// keeps the end, right the start, middle both halves.
func truncate(ids []int, limit int, t Truncation) ([]int, bool, error) {
	if len(ids) <= limit {
		return ids, false, nil
	}
	switch t {
	case TruncateLeft:
		return ids[len(ids)-limit:], true, nil
	case TruncateRight:
		return ids[:limit], true, nil
	case TruncateMiddle:
		head := limit / 2
		return append(slices.Clone(ids[:head]), ids[len(ids)-(limit-head):]...), true, nil
	}
	return nil, false, fmt.Errorf("the prompt has %d tokens once templated, more than --input-len %d (verl's truncation=error; use --filter-overlong-prompts or --truncation left|right|middle)", len(ids), limit)
}

func lengths(prompts [][]int) Lengths {
	l := Lengths{Min: len(prompts[0]), Max: len(prompts[0])}
	total := 0
	for _, p := range prompts {
		l.Min, l.Max = min(l.Min, len(p)), max(l.Max, len(p))
		total += len(p)
	}
	l.Mean = float64(total) / float64(len(prompts))
	return l
}
