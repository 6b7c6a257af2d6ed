package dataset

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/rollbench/rollbench/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the parquet fixtures from their JSONL sources")

// verlRow is a row as verl's examples/data_preprocess scripts write it
// (gsm8k.py and the like, through pandas): the prompt as a list of chat
// messages, beside the columns the reward function reads.
type verlRow struct {
	DataSource  string    `json:"data_source" parquet:"data_source"`
	Prompt      []Message `json:"prompt" parquet:"prompt,list"`
	Ability     string    `json:"ability" parquet:"ability"`
	RewardModel struct {
		GroundTruth string `json:"ground_truth" parquet:"ground_truth"`
		Style       string `json:"style" parquet:"style"`
	} `json:"reward_model" parquet:"reward_model"`
	ExtraInfo struct {
		Index int64  `json:"index" parquet:"index"`
		Split string `json:"split" parquet:"split"`
	} `json:"extra_info" parquet:"extra_info"`
}

// promptlessRow has verl's columns but the prompt under another name.
type promptlessRow struct {
	DataSource string `parquet:"data_source"`
	Question   string `parquet:"question"`
}

// fixtures renders the parquet files of testdata from
// testdata/gsm8k_sample.jsonl.
func fixtures(t *testing.T) map[string][]byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "gsm8k_sample.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []verlRow
	var promptless []promptlessRow
	for _, line := range bytes.Split(bytes.TrimSpace(src), []byte("\n")) {
		var r verlRow
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
		promptless = append(promptless, promptlessRow{DataSource: r.DataSource, Question: r.Prompt[0].Content})
	}
	var sample, noPrompt bytes.Buffer
	if err := parquet.Write(&sample, rows); err != nil {
		t.Fatal(err)
	}
	if err := parquet.Write(&noPrompt, promptless); err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{"gsm8k_sample.parquet": sample.Bytes(), "no_prompt.parquet": noPrompt.Bytes()}
}

// TestFixtures keeps the committed parquet files what their source makes:
// -update rewrites them.
func TestFixtures(t *testing.T) {
	for name, made := range fixtures(t) {
		golden.Check(t, filepath.Join("testdata", name), made, *update)
	}
}
