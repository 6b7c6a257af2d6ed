package dataset

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestReadParquet(t *testing.T) {
	f, err := Read(filepath.Join("testdata", "gsm8k_sample.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != "parquet" || len(f.Chats) != 12 || len(f.SHA256) != 64 {
		t.Fatalf("read %s with %d rows, sha256 %q", f.Format, len(f.Chats), f.SHA256)
	}
	first := f.Chats[0]
	if len(first) != 1 || first[0].Role != "user" || !strings.HasPrefix(first[0].Content, "A baker fills 7 trays") {
		t.Errorf("row 0 = %+v", first)
	}
	j, err := Read(filepath.Join("testdata", "gsm8k_sample.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(j.Chats, f.Chats) {
		t.Error("the parquet file and its JSONL source hold different prompts")
	}
}

// TestReadNullableParquet reads the layout pandas writes, where every
// column and field may be null.
func TestReadNullableParquet(t *testing.T) {
	type msg struct {
		Role    *string `parquet:"role,optional"`
		Content *string `parquet:"content,optional"`
	}
	type row struct {
		Prompt []msg  `parquet:"prompt,list,optional"`
		Other  *int64 `parquet:"other,optional"`
	}
	role, content := "user", "hi"
	path := filepath.Join(t.TempDir(), "nullable.parquet")
	if err := parquet.WriteFile(path, []row{{Prompt: []msg{{&role, &content}}}}); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]Message{{{Role: "user", Content: "hi"}}}; !reflect.DeepEqual(f.Chats, want) {
		t.Errorf("chats = %+v, want %+v", f.Chats, want)
	}
}

func TestReadJSONL(t *testing.T) {
	f, err := Read(filepath.Join("testdata", "plain.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]Message{
		{{Role: "user", Content: "Say hello."}},
		{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Count to three."}},
	}
	if f.Format != "jsonl" || !reflect.DeepEqual(f.Chats, want) {
		t.Errorf("read %s %+v, want %+v", f.Format, f.Chats, want)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		path, want string
	}{
		{filepath.Join("testdata", "no_prompt.parquet"), `no "prompt" column (verl's prompt_key); the columns are data_source, question`},
		{filepath.Join("testdata", "corrupt.parquet"), "not a readable parquet file"},
		{filepath.Join("testdata", "no_prompt.jsonl"), `line 1 has no "prompt" field`},
		{filepath.Join("testdata", "nope.jsonl"), "no such file or directory"},
		{write("empty.jsonl", "\n"), "no rows"},
		{write("array.jsonl", "[1]\n"), "line 1 is not a JSON object"},
		{write("number.jsonl", `{"prompt": 3}`), "line 1: prompt is neither a string nor a list of messages but float64"},
		{write("noroles.jsonl", `{"prompt": [{"text": "x"}]}`), "line 1: prompt message 0 is not {role, content} strings"},
		{write("nomsgs.jsonl", `{"prompt": []}`), "line 1: prompt is an empty list of messages"},
	}
	for _, tc := range tests {
		_, err := Read(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "--dataset "+tc.path+": ") {
			t.Errorf("Read(%s) = %v, want an error naming --dataset and containing %q", tc.path, err, tc.want)
		}
	}
}

func TestSelect(t *testing.T) {
	f := &File{Path: "d.jsonl", SHA256: "abc", Format: "jsonl"}
	// Rows of 3, 6 and 4 tokens.
	tokens := [][]int{{1, 2, 3}, {1, 2, 3, 4, 5, 6}, {7, 8, 9, 10}}
	tests := []struct {
		name      string
		count     int
		h         Handling
		kept      int
		truncated int
		reused    bool
		maxLen    int
		err       string
	}{
		{name: "filter", count: 2, h: Handling{FilterOverlong: true, Truncation: TruncateError}, kept: 2, maxLen: 4},
		{name: "filter and reuse", count: 5, h: Handling{FilterOverlong: true, Truncation: TruncateError}, kept: 2, reused: true, maxLen: 4},
		{name: "truncate left", count: 3, h: Handling{Truncation: TruncateLeft}, kept: 3, truncated: 1, maxLen: 4},
		{name: "verl's default refuses", count: 3, h: Handling{Truncation: TruncateError}, kept: 3,
			err: "d.jsonl row 1: the prompt has 6 tokens once templated, more than --input-len 4 (verl's truncation=error; use --filter-overlong-prompts or --truncation left|right|middle)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prompts, info, err := Select(f, tokens, 4, tc.count, 0, tc.h)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(prompts) != tc.count || info.Drawn != tc.count || info.RowsRead != 3 || info.RowsKept != tc.kept ||
				info.Truncated != tc.truncated || info.Reused != tc.reused || info.PromptTokens.Max != tc.maxLen {
				t.Errorf("%d prompts, info %+v", len(prompts), info)
			}
			again, _, _ := Select(f, tokens, 4, tc.count, 0, tc.h)
			if !reflect.DeepEqual(again, prompts) {
				t.Error("the same seed drew different prompts")
			}
		})
	}
	// Every row overlong under the filter.
	_, _, err := Select(f, tokens, 2, 1, 0, Handling{FilterOverlong: true, Truncation: TruncateError})
	want := "all 3 prompts of d.jsonl are longer than --input-len 2 tokens once templated (the shortest has 3), so --filter-overlong-prompts leaves none"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestTruncate(t *testing.T) {
	ids := []int{1, 2, 3, 4, 5, 6, 7}
	for _, tc := range []struct {
		t    Truncation
		want []int
	}{
		{TruncateLeft, []int{4, 5, 6, 7}},
		{TruncateRight, []int{1, 2, 3, 4}},
		{TruncateMiddle, []int{1, 2, 6, 7}},
	} {
		got, cut, err := truncate(ids, 4, tc.t)
		if err != nil || !cut || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("truncate %s = %v, %v, %v; want %v", tc.t, got, cut, err, tc.want)
		}
	}
	if got, cut, err := truncate(ids, 7, TruncateError); err != nil || cut || len(got) != 7 {
		t.Errorf("a prompt at the limit: %v, %v, %v", got, cut, err)
	}
}
