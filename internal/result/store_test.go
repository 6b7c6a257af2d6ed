package result

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSaveKeepsComplete checks the rule of Save: a run that did not
// complete never replaces a complete result, and a complete one clears a
// stale failed record.
func TestSaveKeepsComplete(t *testing.T) {
	const (
		ok      = `{"status": "ok", "run": "earlier"}`
		failed  = `{"status": "failed", "run": "earlier"}`
		skipped = `{"status": "skipped", "run": "earlier"}`
	)
	for _, tc := range []struct {
		name string
		// before are NAME.json and NAME.failed.json ("" for none).
		main, beside string
		status       string
		// wantPath is the file Save writes, wantMain and wantBeside what the
		// two files hold after it ("" for none, "new" for the new result).
		wantPath, wantMain, wantBeside string
	}{
		{"first result", "", "", StatusOK, Ext, "new", ""},
		{"first failure", "", "", StatusFailed, Ext, "new", ""},
		{"complete replaces complete", ok, "", StatusOK, Ext, "new", ""},
		{"failed beside complete", ok, "", StatusFailed, FailedExt, ok, "new"},
		{"skipped beside complete", ok, "", StatusSkipped, FailedExt, ok, "new"},
		{"failed replaces the failed one beside", ok, failed, StatusFailed, FailedExt, ok, "new"},
		{"complete removes the stale failed one", ok, failed, StatusOK, Ext, "new", ""},
		{"failed replaces failed", failed, "", StatusFailed, Ext, "new", ""},
		{"failed replaces skipped", skipped, "", StatusFailed, Ext, "new", ""},
		{"complete replaces failed", failed, "", StatusOK, Ext, "new", ""},
		// Only beside a complete one may a failed record stay.
		{"failed alone, then failed", "", failed, StatusFailed, Ext, "new", ""},
		{"failed alone, then complete", "", failed, StatusOK, Ext, "new", ""},
		{"unreadable NAME.json is not complete", "{", "", StatusFailed, Ext, "new", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			put := func(path, content string) {
				if content != "" {
					if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			put(Path(dir, "m_bf16"), tc.main)
			put(FailedPath(dir, "m_bf16"), tc.beside)
			v := map[string]string{"status": tc.status, "run": "new"}
			var last bytes.Buffer
			path, err := Save(dir, "m_bf16", v, &last)
			if err != nil || last.Len() > 0 {
				t.Fatalf("Save: %v, printed %q", err, last.String())
			}
			if want := filepath.Join(dir, "m_bf16"+tc.wantPath); path != want {
				t.Errorf("wrote %s, want %s", path, want)
			}
			for _, f := range []struct{ path, want string }{{Path(dir, "m_bf16"), tc.wantMain}, {FailedPath(dir, "m_bf16"), tc.wantBeside}} {
				data, err := os.ReadFile(f.path)
				switch {
				case f.want == "" && !errors.Is(err, fs.ErrNotExist):
					t.Errorf("%s: %q, %v; want no file", filepath.Base(f.path), data, err)
				case f.want == "new" && !strings.Contains(string(data), `"run": "new"`):
					t.Errorf("%s: %q, %v; want the new result", filepath.Base(f.path), data, err)
				case f.want != "" && f.want != "new" && string(data) != f.want:
					t.Errorf("%s: %q, %v; want it unchanged, %q", filepath.Base(f.path), data, err, f.want)
				}
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) > 2 {
				t.Errorf("files left: %v", entries)
			}
		})
	}
}

// TestSaveRescues checks that a result Save cannot write survives: in a
// fallback file in the temporary directory, else on the last writer.
func TestSaveRescues(t *testing.T) {
	dir := t.TempDir()
	// Where the output directory was, a file, as when it was replaced.
	out := filepath.Join(dir, "results")
	if err := os.WriteFile(out, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	v := map[string]any{"status": "ok", "figure": 42.5}
	want, _ := encode(v)

	var last bytes.Buffer
	path, err := Save(out, "m_bf16", v, &last)
	if err == nil {
		t.Fatal("Save into a file succeeded")
	}
	if filepath.Dir(path) != tmp || !strings.HasPrefix(filepath.Base(path), "rollbench-m_bf16-") || filepath.Ext(path) != ".json" {
		t.Errorf("fallback file %q, want rollbench-m_bf16-*.json in %s", path, tmp)
	}
	wantErr := "write result " + Path(out, "m_bf16") + ": mkdir " + out + ": not a directory; the result is saved in " + path + " instead"
	if err.Error() != wantErr {
		t.Errorf("error\n%q, want\n%q", err, wantErr)
	}
	if data, _ := os.ReadFile(path); !bytes.Equal(data, want) || last.Len() > 0 {
		t.Errorf("fallback file holds %q, printed %q; want the result %q", data, last.String(), want)
	}

	// No temporary directory either: standard output is left.
	t.Setenv("TMPDIR", filepath.Join(dir, "none"))
	path, err = Save(out, "m_bf16", v, &last)
	if path != "" || err == nil || !strings.HasSuffix(err.Error(), ": the result is on standard output") ||
		!strings.Contains(err.Error(), "a fallback file failed too (open "+filepath.Join(dir, "none")) {
		t.Errorf("Save = %q, %v", path, err)
	}
	if !bytes.Equal(last.Bytes(), want) {
		t.Errorf("printed %q, want the result %q", last.String(), want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error of more than one line: %q", err)
	}

	// Rescue keeps a result written elsewhere, as the matrix's children do.
	t.Setenv("TMPDIR", tmp)
	path, err = Rescue("a/b", v, &last, errors.New("write result x: full"))
	if filepath.Dir(path) != tmp || !strings.HasPrefix(filepath.Base(path), "rollbench-a_b-") ||
		err == nil || err.Error() != "write result x: full; the result is saved in "+path+" instead" {
		t.Errorf("Rescue = %q, %v", path, err)
	}
}

func TestComplete(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"ok": `{"status": "ok"}`, "failed": `{"status": "failed"}`, "garbled": `{"status": "ok"`} {
		_ = os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	for name, want := range map[string]bool{"ok": true, "failed": false, "garbled": false, "missing": false} {
		if got := Complete(filepath.Join(dir, name)); got != want {
			t.Errorf("Complete(%s) = %v, want %v", name, got, want)
		}
	}
	// The real result types carry their status where Complete reads it.
	r := &Offline{Header: Started(Schema, "m_bf16", "m")}
	r.Status = StatusOK
	data, _ := json.Marshal(r)
	if status(data) != StatusOK {
		t.Errorf("status of an ok result: %q", status(data))
	}
}
