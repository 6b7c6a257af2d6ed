package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/rollbench/rollbench/internal/golden"
	"github.com/rollbench/rollbench/metrics"
)

// fixtures copies report's repeated results (two with a timeline, two
// without) into a folder of the test's own.
func fixtures(t *testing.T) string {
	t.Helper()
	return copyFixtures(t, "repeated", 4)
}

// copyFixtures copies the n result files of testdata/name into a folder
// of the test's own.
func copyFixtures(t *testing.T, name string, n int) string {
	t.Helper()
	dir := t.TempDir()
	src, _ := filepath.Glob(filepath.Join("testdata", name, "*.json"))
	if len(src) != n {
		t.Fatalf("%d fixture results in %s, want %d", len(src), name, n)
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
	if got, want := img.Bounds(), image.Rect(0, 0, 1008, 648); got != want {
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
	cdf := []struct{ x, y float64 }{{0, 0}, {0.25, 100.0 / 3}, {0.5, 200.0 / 3}, {1, 100}}
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

// TestWritePaired draws a paired folder's speedups, the A/A rows as bands
// rather than bars, and no curves: the arms' timelines are their own.
func TestWritePaired(t *testing.T) {
	rows, problems, err := Load(filepath.Join("testdata", "paired"))
	if err != nil || len(problems) > 0 {
		t.Fatalf("load: %v %v", err, problems)
	}
	dir := t.TempDir()
	names, err := WritePlots(dir, Build(rows, problems, nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"speedup.png"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("wrote %v, want %v", names, want)
	}
	checkPNG(t, filepath.Join(dir, "speedup.png"))
}

// TestWriteMismatch draws the speedup against the mismatch of scored
// results, beside their speedups, and leaves out a k3 KL a log axis cannot
// place.
func TestWriteMismatch(t *testing.T) {
	rows, problems, err := Load(filepath.Join("testdata", "mismatch"))
	if err != nil || len(problems) > 0 {
		t.Fatalf("load: %v %v", err, problems)
	}
	s := Build(rows, problems, nil)
	points, undrawn := mismatchPoints(s)
	var got []string
	for _, pt := range points {
		got = append(got, fmt.Sprintf("%s %s %.1e %.2f floor=%v", pt.Model, pt.Label, pt.K3KL, pt.Ratio, pt.Floor))
	}
	want := []string{"small bf16 2.0e-06 1.00 floor=true", "small w8a8 4.0e-06 1.03 floor=false",
		"tiny bf16 1.1e-06 1.00 floor=true", "tiny w8a8 8.3e-06 1.10 floor=false"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("points = %q, want %q (A/A rows not scored)", got, want)
	}
	if want := []string{"tiny w8a16 (k3 KL inf)"}; !reflect.DeepEqual(undrawn, want) {
		t.Errorf("undrawn = %q, want %q", undrawn, want)
	}
	dir := copyFixtures(t, "mismatch", 6)
	names, err := WritePlots(dir, s)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"speedup.png", "mismatch.png"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("wrote %v, want %v", names, want)
	}
	for _, n := range names {
		checkPNG(t, filepath.Join(dir, n))
	}
}

func TestDecadeTicks(t *testing.T) {
	var labels []string
	minor := 0
	for _, tk := range (decadeTicks{}).Ticks(1e-7, 1e-4) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		} else {
			minor++
		}
	}
	if got, want := strings.Join(labels, " "), "1e-07 1e-06 1e-05 1e-04"; got != want || minor != 24 {
		t.Errorf("decade ticks of [1e-7, 1e-4] = %q and %d minor, want %q and 24", got, minor, want)
	}
}

func TestNoTimeline(t *testing.T) {
	dir := fixtures(t)
	tl, err := ReadTimeline(filepath.Join(dir, "tiny-b_bf16.json"))
	if err != nil || tl != nil {
		t.Errorf("ReadTimeline of a result without one = %v, %v", tl, err)
	}
}

// plotCase is a picture as WritePlots draws it, from report's fixtures.
type plotCase struct {
	name  string
	p     *plot.Plot
	width vg.Length
}

// plotCases are the speedup charts of the repeated results (intervals,
// one not significant), of the mixed ones (no intervals, one on total
// tok/s), of the paired ones and the sequential --aa ones (each model's
// A/A band behind its bars), of the data-parallel ones (on step makespan
// where both rows ran on replicas) and of seven made-up bars, and both curves of a timeline with
// recorded running counts, of one without and of samples that all finish
// together.
func plotCases(t *testing.T) []plotCase {
	t.Helper()
	var cases []plotCase
	for _, dir := range []string{"repeated", "mixed", "paired", "aa", "replicas"} {
		rows, problems, err := Load(filepath.Join("testdata", dir))
		if err != nil {
			t.Fatal(err)
		}
		var bars []Bar
		for _, e := range Build(rows, problems, nil).Rows {
			if e.Speedup.Ratio != nil && e.Status == StatusOK && !e.AA {
				bars = append(bars, barOf(e))
			}
		}
		p, w, err := speedupPlot(bars)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, plotCase{"speedup-" + dir, p, w})
	}
	// A wide chart: seven bars, the widest labels, an unbounded interval,
	// a whisker far above its bar and a speedup on total tok/s.
	f := func(v float64) *float64 { return &v }
	var bars []Bar
	for i, sp := range []Speedup{
		{Ratio: f(1.08), Interval: &metrics.Ratio{Ratio: 1.08, Low: f(0.95), High: f(1.21)}},
		{Ratio: f(2.41), Interval: &metrics.Ratio{Ratio: 2.41, Low: f(2.3), High: f(2.52), Significant: true}},
		{Ratio: f(0.97), Interval: &metrics.Ratio{Ratio: 0.97}},
		{Ratio: f(1.5), Interval: &metrics.Ratio{Ratio: 1.5, Low: f(0.2), High: f(3.9)}},
		{Ratio: f(0.61), Metric: MetricTotal},
		{Ratio: f(1)},
		{Ratio: f(1.33), Interval: &metrics.Ratio{Ratio: 1.33, Low: f(1.01), High: f(1.7), Significant: true}, Metric: MetricTotal},
	} {
		bars = append(bars, barOf(Entry{Row: Row{Model: fmt.Sprintf("qwen3-30b-a3b-%d", i), Quant: "w8a16"}, Speedup: sp}))
	}
	p, w, err := speedupPlot(bars)
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, plotCase{"speedup-wide", p, w})
	rows, problems, err := Load(filepath.Join("testdata", "mismatch"))
	if err != nil {
		t.Fatal(err)
	}
	points, undrawn := mismatchPoints(Build(rows, problems, nil))
	mp, err := mismatchPlot(points, undrawn)
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, plotCase{"mismatch", mp, Width})
	curves := func(name, title string, tl *Timeline) {
		for _, d := range []struct {
			suffix string
			build  func(string, *Timeline) (*plot.Plot, error)
		}{{"running", runningPlot}, {"cdf", cdfPlot}} {
			p, err := d.build(title, tl)
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, plotCase{name + "." + d.suffix, p, Width})
		}
	}
	for _, name := range []string{"tiny-a_bf16", "tiny-a_w8a8"} {
		tl, err := ReadTimeline(filepath.Join("testdata", "repeated", name+".json"))
		if err != nil || tl == nil {
			t.Fatalf("timeline of %s: %v, %v", name, tl, err)
		}
		curves(name, strings.Replace(name, "_", " ", 1), tl)
	}
	// Sync mode with fixed lengths: every sample finishes at once.
	tl := &Timeline{}
	for range 8 {
		tl.Samples = append(tl.Samples, struct {
			FinishS float64 `json:"finish_s"`
		}{0.143})
	}
	curves("together", "tiny bf16", tl)
	return cases
}

// TestPlotText compares every text a picture shows (title, axis labels,
// tick labels, printed values), with its size, against a golden file: the
// picture drawn as SVG, where each is a text element.
func TestPlotText(t *testing.T) {
	for _, tc := range plotCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			c := vgsvg.New(tc.width, Height)
			tc.p.Draw(frame(c))
			var svg bytes.Buffer
			if _, err := c.WriteTo(&svg); err != nil {
				t.Fatal(err)
			}
			got, err := svgText(&svg)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "plots", tc.name+".text.golden"), got, *update)
		})
	}
}

var fontSize = regexp.MustCompile(`font-size:([0-9.]+)px`)

// svgText lists an SVG's text elements, one a line: the font size in
// points, then the text.
func svgText(r io.Reader) ([]byte, error) {
	var b bytes.Buffer
	d := xml.NewDecoder(r)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return b.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
		el, ok := tok.(xml.StartElement)
		if !ok || el.Name.Local != "text" {
			continue
		}
		size := "?"
		for _, a := range el.Attr {
			if m := fontSize.FindStringSubmatch(a.Value); a.Name.Local == "style" && m != nil {
				size = m[1]
			}
		}
		var content string
		if err := d.DecodeElement(&content, &el); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%spt %s\n", size, content)
	}
}

// TestPlotHeadroom checks that nothing touches the top of a picture's
// plot area, where a clipped bar, whisker, label or curve would show,
// nor, for the curves, its right edge: those bands hold only the white
// background and the light grid.
func TestPlotHeadroom(t *testing.T) {
	for _, tc := range plotCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			c := render(tc.p, tc.width)
			img := c.Image()
			area := tc.p.DataCanvas(frame(c)).Rectangle
			px := func(l vg.Length) int { return int(l.Points() * DPI / 72) }
			h := img.Bounds().Dy()
			x0, x1 := px(area.Min.X), px(area.Max.X)
			y0, y1 := h-px(area.Max.Y), h-px(area.Min.Y)
			if x1-x0 < img.Bounds().Dx()/2 || y1-y0 < h/2 {
				t.Fatalf("plot area %v is less than half the picture %v", image.Rect(x0, y0, x1, y1), img.Bounds())
			}
			bands := map[string]image.Rectangle{"top": image.Rect(x0, y0, x1, y0+(y1-y0)/20)}
			// The line at 1 runs to the right edge of the bar and mismatch
			// charts.
			if !strings.HasPrefix(tc.name, "speedup") && tc.name != "mismatch" {
				bands["right"] = image.Rect(x1-(x1-x0)/50, y0, x1, y1)
			}
			for name, band := range bands {
				for y := band.Min.Y; y < band.Max.Y; y++ {
					for x := band.Min.X; x < band.Max.X; x++ {
						r, g, b, _ := img.At(x, y).RGBA()
						if min(r, g, b)>>8 < uint32(gridColor.Y) {
							t.Fatalf("%s band %v of the plot area is drawn on at (%d, %d): %v", name, band, x, y, img.At(x, y))
						}
					}
				}
			}
		})
	}
}

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi  float64
		integer bool
		want    string
	}{
		{0, 1.37, false, "0.00 0.25 0.50 0.75 1.00 1.25"},
		{0, 2.27, false, "0.0 0.5 1.0 1.5 2.0"},
		{0, 1.6875, false, "0.0 0.5 1.0 1.5"},
		{0, 130, false, "0 25 50 75 100 125"},
		{0, 8.64, true, "0 2 4 6 8"},
		{0, 3.45, true, "0 1 2 3"},
		{0, 0.0012, false, "0.0000 0.0002 0.0004 0.0006 0.0008 0.0010 0.0012"},
	} {
		var labels []string
		for _, tk := range (niceTicks{integer: tc.integer}).Ticks(tc.lo, tc.hi) {
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if got := strings.Join(labels, " "); got != tc.want {
			t.Errorf("ticks of [%v, %v] (integer %v) = %q, want %q", tc.lo, tc.hi, tc.integer, got, tc.want)
		}
	}
}
