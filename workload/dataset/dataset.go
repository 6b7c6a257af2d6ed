// Package dataset reads the prompts of an RL training set: verl's parquet
// files (a prompt column of chat messages, as verl's data preprocessing
// scripts write them) or JSONL (one object per line whose prompt field holds
// messages or a plain string). It also chooses which prompts a step takes
// once they are tokenized, the way verl's RLHFDataset does: overlong prompts
// filtered out or not, the rest truncated or refused.
package dataset

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// PromptKey is the column or field that holds the prompt (verl's
// data.prompt_key default).
const PromptKey = "prompt"

// Message is one turn of a chat.
type Message struct {
	Role    string `json:"role" parquet:"role"`
	Content string `json:"content" parquet:"content"`
}

// File is a dataset as read: every row's conversation, and what identifies
// the file.
type File struct {
	Path   string
	SHA256 string
	// Format is "parquet" or "jsonl".
	Format string
	// Chats holds one conversation per row, in file order. A row whose
	// prompt is a plain string becomes one user message.
	Chats [][]Message
}

// Read reads the file at path, by its extension: .parquet, else JSONL.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("--dataset %s: %w", path, err)
	}
	sum := sha256.Sum256(data)
	f := &File{Path: path, SHA256: hex.EncodeToString(sum[:])}
	if strings.EqualFold(filepath.Ext(path), ".parquet") {
		f.Format = "parquet"
		f.Chats, err = readParquet(data)
	} else {
		f.Format = "jsonl"
		f.Chats, err = readJSONL(data)
	}
	if err != nil {
		return nil, fmt.Errorf("--dataset %s: %w", path, err)
	}
	if len(f.Chats) == 0 {
		return nil, fmt.Errorf("--dataset %s: no rows", path)
	}
	return f, nil
}

func readParquet(data []byte) (chats [][]Message, err error) {
	// parquet-go panics on some corrupt files rather than failing.
	defer func() {
		if p := recover(); p != nil {
			chats, err = nil, fmt.Errorf("not a readable parquet file: %v", p)
		}
	}()
	file, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a readable parquet file: %w", err)
	}
	field := fieldNamed(file.Schema().Fields(), PromptKey)
	if field == nil {
		return nil, fmt.Errorf("no %q column (verl's prompt_key); the columns are %s", PromptKey, columnNames(file.Schema().Fields()))
	}
	// Read the prompt column alone: the rest (reward model, extra info)
	// may have any shape. Rows come in batches, so that a row count in a
	// corrupt footer allocates nothing.
	schema := parquet.NewSchema("row", parquet.Group{PromptKey: field})
	reader := parquet.NewGenericReader[map[string]any](file, schema)
	defer reader.Close()
	batch := make([]map[string]any, 256)
	for {
		for i := range batch {
			batch[i] = map[string]any{}
		}
		n, err := reader.Read(batch)
		for _, row := range batch[:n] {
			c, cerr := chat(row[PromptKey])
			if cerr != nil {
				return nil, fmt.Errorf("row %d: %w", len(chats), cerr)
			}
			chats = append(chats, c)
		}
		if errors.Is(err, io.EOF) || err == nil && n == 0 {
			return chats, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read the %q column: %w", PromptKey, err)
		}
	}
}

func fieldNamed(fields []parquet.Field, name string) parquet.Field {
	for _, f := range fields {
		if f.Name() == name {
			return f
		}
	}
	return nil
}

func columnNames(fields []parquet.Field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name()
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func readJSONL(data []byte) ([][]Message, error) {
	var chats [][]Message
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var row map[string]any
		if err := json.Unmarshal(text, &row); err != nil || row == nil {
			return nil, fmt.Errorf("line %d is not a JSON object", line)
		}
		p, ok := row[PromptKey]
		if !ok {
			return nil, fmt.Errorf("line %d has no %q field", line, PromptKey)
		}
		c, err := chat(p)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		chats = append(chats, c)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return chats, nil
}

// chat reads one prompt value: a string, or a list of {role, content}.
func chat(v any) ([]Message, error) {
	switch p := v.(type) {
	case string:
		return []Message{{Role: "user", Content: p}}, nil
	case []any:
		if len(p) == 0 {
			return nil, fmt.Errorf("%s is an empty list of messages", PromptKey)
		}
		msgs := make([]Message, len(p))
		for i, m := range p {
			obj, ok := m.(map[string]any)
			role, rok := obj["role"].(string)
			content, cok := obj["content"].(string)
			if !ok || !rok || !cok {
				return nil, fmt.Errorf("%s message %d is not {role, content} strings", PromptKey, i)
			}
			msgs[i] = Message{Role: role, Content: content}
		}
		return msgs, nil
	}
	return nil, fmt.Errorf("%s is neither a string nor a list of messages but %T", PromptKey, v)
}
