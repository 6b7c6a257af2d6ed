// The plots draw a summary's pictures as PNG files from result files:
// per experiment, the samples still running over time and the CDF of
// sample completion times (from the result's timeline), and per folder the
// speedups against BF16 with their 95% intervals.

package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Size of every picture: 6 x 4 inches at the PNG renderer's 96 dpi, 576 x
// 384 pixels.
const (
	Width  = 6 * vg.Inch
	Height = 4 * vg.Inch
)

// Timeline is the part of a result's timeline the pictures need.
type Timeline struct {
	Samples []struct {
		FinishS float64 `json:"finish_s"`
	} `json:"samples"`
	// Running, when recorded, is the number of samples running at times.
	Running []struct {
		TS      float64 `json:"t_s"`
		Running float64 `json:"running"`
	} `json:"running"`
}

// ReadTimeline reads the timeline of a result file; nil when it has none.
func ReadTimeline(path string) (*Timeline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Timeline *Timeline `json:"timeline"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Timeline == nil || len(f.Timeline.Samples) == 0 {
		return nil, nil
	}
	return f.Timeline, nil
}

func (t *Timeline) finishTimes() []float64 {
	fs := make([]float64, len(t.Samples))
	for i, s := range t.Samples {
		fs[i] = s.FinishS
	}
	slices.Sort(fs)
	return fs
}

// runningPoints is the step curve of samples still running: the recorded
// counts, or else every sample running from 0 until its finish time.
func (t *Timeline) runningPoints() plotter.XYs {
	if len(t.Running) > 0 {
		xys := make(plotter.XYs, len(t.Running))
		for i, r := range t.Running {
			xys[i] = plotter.XY{X: r.TS, Y: r.Running}
		}
		return xys
	}
	fs := t.finishTimes()
	xys := plotter.XYs{{X: 0, Y: float64(len(fs))}}
	for i, f := range fs {
		xys = append(xys, plotter.XY{X: f, Y: float64(len(fs) - i - 1)})
	}
	return xys
}

// PlotRunning draws the samples still running over time into a PNG at path.
func PlotRunning(path, title string, t *Timeline) error {
	return steps(path, title+": samples still running", "time since submission (s)", "samples running",
		t.runningPoints(), color.RGBA{B: 200, A: 255}, 0)
}

// cdfPoints is the step curve of the share of samples done by each time.
func (t *Timeline) cdfPoints() plotter.XYs {
	fs := t.finishTimes()
	xys := plotter.XYs{{X: 0, Y: 0}}
	for i, f := range fs {
		xys = append(xys, plotter.XY{X: f, Y: float64(i+1) / float64(len(fs))})
	}
	return xys
}

// PlotCDF draws the share of samples finished by each time into a PNG at path.
func PlotCDF(path, title string, t *Timeline) error {
	return steps(path, title+": completion-time CDF", "sample finish time (s)", "share of samples done",
		t.cdfPoints(), color.RGBA{R: 200, A: 255}, 1)
}

// steps draws one step curve over a grid into a PNG at path; yMax 0 lets
// the axis fit the data.
func steps(path, title, xLabel, yLabel string, xys plotter.XYs, c color.Color, yMax float64) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Y.Min = 0
	if yMax > 0 {
		p.Y.Max = yMax
	}
	line, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	line.StepStyle = plotter.PostStep
	line.Width = vg.Points(1.5)
	line.Color = c
	p.Add(line, plotter.NewGrid())
	return p.Save(Width, Height, path)
}

// Bar is one speedup: its label, ratio and 95% interval (Low = High =
// Ratio without a bounded one).
type Bar struct {
	Label            string
	Ratio, Low, High float64
}

// errorBars are the bars' intervals as plotter's error bars.
type errorBars []Bar

func (b errorBars) Len() int                    { return len(b) }
func (b errorBars) XY(i int) (float64, float64) { return float64(i), b[i].Ratio }
func (b errorBars) YError(i int) (float64, float64) {
	return b[i].Ratio - b[i].Low, b[i].High - b[i].Ratio
}

// PlotSpeedups draws the bars, with a line at 1 (as fast as BF16), into a PNG
// at path.
func PlotSpeedups(path string, bars []Bar) error {
	if len(bars) == 0 {
		return errors.New("no speedups to draw")
	}
	p := plot.New()
	p.Title.Text = "speedup vs bf16 (output tok/s), 95% intervals"
	p.Y.Label.Text = "speedup (x)"
	values := make(plotter.Values, len(bars))
	labels := make([]string, len(bars))
	for i, b := range bars {
		values[i], labels[i] = b.Ratio, b.Label
	}
	chart, err := plotter.NewBarChart(values, vg.Points(28))
	if err != nil {
		return err
	}
	chart.Color = color.RGBA{R: 90, G: 140, B: 210, A: 255}
	chart.LineStyle.Width = 0
	errs, err := plotter.NewYErrorBars(errorBars(bars))
	if err != nil {
		return err
	}
	errs.LineStyle.Width = vg.Points(1.5)
	one := plotter.NewFunction(func(float64) float64 { return 1 })
	one.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(plotter.NewGrid(), chart, errs, one)
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -0.6, float64(len(bars))-0.4
	p.Y.Min = 0
	return p.Save(Width, Height, path)
}

// WritePlots draws the pictures of a summarized folder into it and returns their
// file names in the order to list them: the speedup bars when some row has
// a speedup, then each row's running and CDF pictures when its result has
// a timeline. A result without a timeline has no pictures.
func WritePlots(dir string, s Summary) ([]string, error) {
	var names []string
	var bars []Bar
	for _, e := range s.Rows {
		sp := e.Speedup
		if sp.Ratio == nil || e.Status != StatusOK {
			continue
		}
		b := Bar{Label: e.Model + " " + e.Quant, Ratio: *sp.Ratio, Low: *sp.Ratio, High: *sp.Ratio}
		if iv := sp.Interval; iv != nil && iv.Low != nil && iv.High != nil {
			b.Low, b.High = *iv.Low, *iv.High
		}
		bars = append(bars, b)
	}
	if len(bars) > 0 {
		if err := PlotSpeedups(filepath.Join(dir, "speedup.png"), bars); err != nil {
			return names, fmt.Errorf("draw speedup.png: %w", err)
		}
		names = append(names, "speedup.png")
	}
	for _, e := range s.Rows {
		if e.Status != StatusOK || !strings.HasSuffix(e.Source, ".json") {
			continue
		}
		t, err := ReadTimeline(filepath.Join(dir, e.Source))
		if err != nil {
			return names, err
		}
		if t == nil {
			continue
		}
		stem := strings.TrimSuffix(e.Source, ".json")
		title := e.Model + " " + e.Quant
		for _, d := range []struct {
			suffix string
			draw   func(string, string, *Timeline) error
		}{{".running.png", PlotRunning}, {".cdf.png", PlotCDF}} {
			if err := d.draw(filepath.Join(dir, stem+d.suffix), title, t); err != nil {
				return names, fmt.Errorf("draw %s: %w", stem+d.suffix, err)
			}
			names = append(names, stem+d.suffix)
		}
	}
	return names, nil
}
