package report

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fixtures copies report's repeated results (two with a timeline, two
// without) into a folder of the test's own.
func fixtures(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src, _ := filepath.Glob(filepath.Join("testdata", "repeated", "*.json"))
	if len(src) != 4 {
		t.Fatalf("%d fixture results, want 4", len(src))
	}
	for _, f := range src {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestWrite(t *testing.T) {
	dir := fixtures(t)
	rows, problems, err := Load(dir)
	if err != nil || len(problems) > 0 {
		t.Fatalf("load: %v %v", err, problems)
	}
	names, err := WritePlots(dir, Build(rows, problems, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"speedup.png", "tiny-a_bf16.running.png", "tiny-a_bf16.cdf.png", "tiny-a_w8a8.running.png", "tiny-a_w8a8.cdf.png"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("wrote %v, want %v", names, want)
	}
	for _, n := range names {
		checkPNG(t, filepath.Join(dir, n))
	}
}

// checkPNG decodes a picture and checks its size and that it is drawn on:
// a good share of pixels not white, in several colors.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if got, want := img.Bounds(), image.Rect(0, 0, 576, 384); got != want {
		t.Errorf("%s is %v, want %v", path, got, want)
	}
	colors := map[[4]uint32]bool{}
	inked := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			colors[[4]uint32{r, g, bl, a}] = true
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				inked++
			}
		}
	}
	if share := float64(inked) / float64(b.Dx()*b.Dy()); share < 0.01 || len(colors) < 3 {
		t.Errorf("%s looks blank: %.2f%% of pixels inked, %d colors", path, 100*share, len(colors))
	}
}

func TestCurves(t *testing.T) {
	tl := &Timeline{}
	for _, f := range []float64{0.5, 0.25, 1} {
		tl.Samples = append(tl.Samples, struct {
			FinishS float64 `json:"finish_s"`
		}{f})
	}
	// Derived from the finish times: 3 running until 0.25, then 2, 1, 0.
	running := []struct{ x, y float64 }{{0, 3}, {0.25, 2}, {0.5, 1}, {1, 0}}
	for i, p := range tl.runningPoints() {
		if p.X != running[i].x || p.Y != running[i].y {
			t.Errorf("running point %d = %v, want %v", i, p, running[i])
		}
	}
	cdf := []struct{ x, y float64 }{{0, 0}, {0.25, 1.0 / 3}, {0.5, 2.0 / 3}, {1, 1}}
	for i, p := range tl.cdfPoints() {
		if p.X != cdf[i].x || p.Y != cdf[i].y {
			t.Errorf("CDF point %d = %v, want %v", i, p, cdf[i])
		}
	}
	// Recorded counts win over the derivation.
	tl.Running = append(tl.Running, struct {
		TS      float64 `json:"t_s"`
		Running float64 `json:"running"`
	}{0, 5})
	if got := tl.runningPoints(); len(got) != 1 || got[0].Y != 5 {
		t.Errorf("running points with recorded counts = %v", got)
	}
}

func TestNoTimeline(t *testing.T) {
	dir := fixtures(t)
	tl, err := ReadTimeline(filepath.Join(dir, "tiny-b_bf16.json"))
	if err != nil || tl != nil {
		t.Errorf("ReadTimeline of a result without one = %v, %v", tl, err)
	}
}
