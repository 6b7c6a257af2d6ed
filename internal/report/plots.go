// The plots draw a summary's pictures as PNG files from result files:
// per experiment, the samples still running over time and the CDF of
// sample completion times (from the result's timeline), and per folder the
// speedups against BF16 with their 95% intervals and, where the results
// carry one, against their mismatch (mismatchplot.go). Every picture prints the
// figures a reader looks for (a bar's value and interval, the median and
// last finish times) and keeps headroom above its data, so that nothing
// touches the frame.

package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Size of a picture: 7 x 4.5 inches at 144 dpi, 1008 x 648 pixels, sharp
// on a high-density screen and with text still readable when scaled down.
// The speedup chart is wider when its bars' labels need it.
const (
	Width  = 7 * vg.Inch
	Height = 4.5 * vg.Inch
	DPI    = 144
)

// Font sizes in points, and the white margin around every picture.
const (
	titleSize = 15
	labelSize = 13
	tickSize  = 12
	valueSize = 12
	margin    = 0.15 * vg.Inch
)

// Room left free around the data: above the curves' highest value (for
// their labels) and right of their last point, as shares of the range.
const (
	headroom = 0.15
	tailroom = 0.06
)

var (
	barColor  = color.RGBA{R: 90, G: 140, B: 210, A: 255}
	gridColor = color.Gray{Y: 215}
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

// cdfPoints is the step curve of the percentage of samples done by each
// time.
func (t *Timeline) cdfPoints() plotter.XYs {
	fs := t.finishTimes()
	xys := plotter.XYs{{X: 0, Y: 0}}
	for i, f := range fs {
		xys = append(xys, plotter.XY{X: f, Y: 100 * float64(i+1) / float64(len(fs))})
	}
	return xys
}

// runningPlot draws the samples still running over time.
func runningPlot(title string, t *Timeline) (*plot.Plot, error) {
	xys := t.runningPoints()
	top := 0.0
	for _, xy := range xys {
		top = max(top, xy.Y)
	}
	p := newPlot(title+": samples still running", "time since submission (s)",
		fmt.Sprintf("samples running (of %d)", len(t.Samples)), true)
	p.Y.Tick.Marker = niceTicks{integer: true}
	p.Y.Max = math.Max(top, 1) * (1 + headroom)
	last := t.finishTimes()[len(t.Samples)-1]
	c := color.RGBA{B: 200, A: 255}
	// The last finish as a line, labelled above the curve's top, where
	// nothing else is drawn.
	end, err := plotter.NewLine(plotter.XYs{{X: last, Y: 0}, {X: last, Y: top}})
	if err != nil {
		return nil, err
	}
	end.Color, end.Dashes = c, []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(end)
	marks := []mark{{X: last, Y: top, Text: fmt.Sprintf("last done %s s", seconds(last)), XAlign: draw.XRight, YAlign: draw.YBottom}}
	return p, steps(p, xys, c, marks)
}

// cdfPlot draws the share of samples finished by each time.
func cdfPlot(title string, t *Timeline) (*plot.Plot, error) {
	p := newPlot(title+": completion-time CDF", "sample finish time (s)", "samples finished (%)", true)
	p.Y.Tick.Marker = plot.ConstantTicks{{Value: 0, Label: "0"}, {Value: 25, Label: "25"},
		{Value: 50, Label: "50"}, {Value: 75, Label: "75"}, {Value: 100, Label: "100"}}
	p.Y.Max = 100 * (1 + headroom)
	fs := t.finishTimes()
	// The median as the nearest rank: the time by which half the samples
	// are done, a point of the curve.
	mid, last := fs[(len(fs)-1)/2], fs[len(fs)-1]
	// A rising curve leaves free the space below and right of each of its
	// points, and above and left: the median's label goes right when
	// there is room (when samples finish together, as in sync mode, the
	// median is the last finish), the last finish's above.
	median := mark{X: mid, Y: 100 * float64((len(fs)-1)/2+1) / float64(len(fs)), Text: fmt.Sprintf("median %s s", seconds(mid)),
		Dot: true, XAlign: draw.XLeft, YAlign: draw.YTop}
	if mid > last/2 {
		median.XAlign, median.YAlign = draw.XRight, draw.YBottom
	}
	marks := []mark{median,
		{X: last, Y: 100, Text: fmt.Sprintf("all done %s s", seconds(last)), Dot: true, XAlign: draw.XRight, YAlign: draw.YBottom}}
	return p, steps(p, t.cdfPoints(), color.RGBA{R: 200, A: 255}, marks)
}

// mark is a label at a point of a curve (with a dot when Dot), beside it
// on the side its alignment says: XLeft puts the text to the right of the
// point, YTop below it.
type mark struct {
	X, Y   float64
	Text   string
	Dot    bool
	XAlign draw.XAlignment
	YAlign draw.YAlignment
}

// steps adds a step curve and its marks to p, with the X axis from 0 to
// past the last point.
func steps(p *plot.Plot, xys plotter.XYs, c color.Color, marks []mark) error {
	p.Y.Min, p.X.Min = 0, 0
	end := 0.0
	for _, xy := range xys {
		end = max(end, xy.X)
	}
	if end <= 0 {
		end = 1
	}
	p.X.Max = end * (1 + tailroom)
	p.X.Tick.Marker = niceTicks{}
	line, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	line.StepStyle = plotter.PostStep
	line.Width = vg.Points(2)
	line.Color = c
	p.Add(line)
	for _, m := range marks {
		at := plotter.XYs{{X: m.X, Y: m.Y}}
		if m.Dot {
			dot, err := plotter.NewScatter(at)
			if err != nil {
				return err
			}
			dot.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
			p.Add(dot)
		}
		label, err := valueLabels(at, []string{m.Text})
		if err != nil {
			return err
		}
		label.TextStyle[0].XAlign, label.TextStyle[0].YAlign = m.XAlign, m.YAlign
		// Away from the point by a few points, on the label's side.
		label.Offset = vg.Point{X: vg.Points(6 * (1 + 2*float64(m.XAlign))), Y: vg.Points(4 * (1 + 2*float64(m.YAlign)))}
		p.Add(label)
	}
	return nil
}

// Bar is one speedup: its label, ratio and 95% interval (Low = High =
// Ratio without a bounded one), the text printed above it, and its model's
// A/A band, drawn behind it, where the model has a bounded one.
type Bar struct {
	Label            string
	Ratio, Low, High float64
	Value            string
	AA               *[2]float64
}

// barOf is the bar of a row with a speedup: labelled model over quant,
// its value the ratio (~ when not significant) over its interval, and the
// metric when it is not output tok/s.
func barOf(e Entry) Bar {
	sp := e.Speedup
	b := Bar{Label: e.Model + "\n" + e.Label(), Ratio: *sp.Ratio, Low: *sp.Ratio, High: *sp.Ratio}
	b.Value = fmt.Sprintf("%.2fx", *sp.Ratio)
	if sp.notSignificant() {
		b.Value += " ~"
	}
	if iv, ok := sp.band(); ok {
		b.Value += "\n" + bandText(iv)
		if iv.Low != nil && iv.High != nil {
			b.Low, b.High = *iv.Low, *iv.High
		}
	}
	switch sp.Metric {
	case MetricTotal:
		b.Value += "\non total tok/s"
	case MetricStepMakespan:
		b.Value += "\non step makespan"
	}
	if aa := sp.AABand; aa != nil && aa.Low != nil && aa.High != nil {
		b.AA = &[2]float64{*aa.Low, *aa.High}
	}
	return b
}

// aaBands shades each bar's A/A band across its column, behind the bars,
// between thin lines at its limits that keep a narrow band visible.
type aaBands []Bar

func (a aaBands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	edge := draw.LineStyle{Color: color.RGBA{R: 215, G: 140, B: 40, A: 255}, Width: vg.Points(0.75)}
	for i, b := range a {
		if b.AA == nil {
			continue
		}
		x0, x1 := trX(float64(i)-0.5), trX(float64(i)+0.5)
		lo, hi := trY(b.AA[0]), trY(b.AA[1])
		c.SetColor(color.RGBA{R: 250, G: 215, B: 160, A: 255})
		c.Fill(vg.Rectangle{Min: vg.Point{X: x0, Y: lo}, Max: vg.Point{X: x1, Y: hi}}.Path())
		for _, y := range []vg.Length{lo, hi} {
			c.StrokeLine2(edge, x0, y, x1, y)
		}
	}
}

// whiskers are the bounded intervals of bars, at the bars' positions, as
// plotter's error bars.
type whiskers []struct {
	x float64
	Bar
}

func (w whiskers) Len() int                    { return len(w) }
func (w whiskers) XY(i int) (float64, float64) { return w[i].x, w[i].Ratio }
func (w whiskers) YError(i int) (float64, float64) {
	return w[i].Ratio - w[i].Low, w[i].High - w[i].Ratio
}

// PlotSpeedups draws the bars, with a line at 1 (as fast as BF16), into a PNG
// at path.
func PlotSpeedups(path string, bars []Bar) error {
	p, w, err := speedupPlot(bars)
	if err != nil {
		return err
	}
	return savePNG(p, w, path)
}

// speedupPlot is the bar chart of the speedups and the width it needs.
func speedupPlot(bars []Bar) (*plot.Plot, vg.Length, error) {
	if len(bars) == 0 {
		return nil, 0, errors.New("no speedups to draw")
	}
	title := "speedup vs bf16 (output tok/s), with 95% intervals"
	banded := slices.ContainsFunc(bars, func(b Bar) bool { return b.AA != nil })
	if banded {
		title += "\nshaded: each model's A/A band (bf16 against itself)"
	}
	p := newPlot(title, "", "speedup vs bf16 (x)", false)
	values := make(plotter.Values, len(bars))
	labels := make([]string, len(bars))
	tops := make(plotter.XYs, len(bars))
	texts := make([]string, len(bars))
	var ws whiskers
	top := 1.0
	for i, b := range bars {
		values[i], labels[i], texts[i] = b.Ratio, b.Label, b.Value
		tops[i] = plotter.XY{X: float64(i), Y: math.Max(b.Ratio, b.High)}
		top = math.Max(top, tops[i].Y)
		if b.AA != nil {
			top = math.Max(top, b.AA[1])
		}
		if b.Low < b.High {
			ws = append(ws, struct {
				x float64
				Bar
			}{float64(i), b})
		}
	}
	chart, err := plotter.NewBarChart(values, vg.Points(36))
	if err != nil {
		return nil, 0, err
	}
	chart.Color = barColor
	chart.LineStyle.Width = 0
	// The bands and the line at 1 first, so that bars and labels are drawn
	// over them.
	if banded {
		p.Add(aaBands(bars))
	}
	one := plotter.NewFunction(func(float64) float64 { return 1 })
	one.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	one.Width = vg.Points(1)
	p.Add(one, chart)
	if len(ws) > 0 {
		errs, err := plotter.NewYErrorBars(ws)
		if err != nil {
			return nil, 0, err
		}
		errs.LineStyle.Width = vg.Points(1.5)
		errs.CapWidth = vg.Points(10)
		p.Add(errs)
	}
	printed, err := valueLabels(tops, texts)
	if err != nil {
		return nil, 0, err
	}
	printed.Offset.Y = vg.Points(4)
	// Every bar has a column as wide as its widest text, so that no two
	// labels meet, and the line's label a column of its own right of them.
	gap := vg.Points(16)
	column := vg.Points(36) + gap
	for i := range bars {
		column = max(column, p.X.Tick.Label.Width(labels[i])+gap, printed.TextStyle[i].Width(texts[i])+gap)
	}
	const line = "bf16 = 1x"
	// The axis runs from -0.6 to the last column's edge, then r columns
	// more for the line's label. An inch is for the Y axis with its labels.
	label := printed.TextStyle[0].Width(line) + gap
	span := float64(len(bars)) + 0.1
	avail := Width - 2*margin - vg.Inch
	w, r := Width, 0.0
	if need := vg.Length(span)*column + label; need > avail {
		w += need - avail
		r = float64(label / column)
	} else {
		// The columns widen to fill the picture; the label's must not.
		r = float64(label) * span / float64(avail-label)
	}
	right := float64(len(bars)) - 0.5 + r
	bf16, err := valueLabels(plotter.XYs{{X: right, Y: 1}}, []string{line})
	if err != nil {
		return nil, 0, err
	}
	bf16.TextStyle[0].XAlign = draw.XRight
	bf16.Offset = vg.Point{X: -vg.Points(3), Y: vg.Points(6)}
	p.Add(backed{printed}, backed{bf16})
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -0.6, right
	p.Y.Min = 0
	p.Y.Tick.Marker = niceTicks{}
	// Room above the tallest whisker for its two- or three-line label: a
	// third of the range, which holds them at this height.
	p.Y.Max = top * 1.35
	return p, w, nil
}

// backed draws labels over white boxes, so that a line behind a label
// does not cross its text.
type backed struct{ *plotter.Labels }

func (b backed) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	c.SetColor(color.White)
	for i, l := range b.Labels.Labels {
		at := vg.Point{X: trX(b.XYs[i].X), Y: trY(b.XYs[i].Y)}.Add(b.Offset)
		c.Fill(b.TextStyle[i].Rectangle(l).Add(at).Path())
	}
	b.Labels.Plot(c, p)
}

// valueLabels are texts printed at points, centred above them.
func valueLabels(at plotter.XYs, texts []string) (*plotter.Labels, error) {
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: at, Labels: texts})
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font = sans(valueSize)
		l.TextStyle[i].XAlign = draw.XCenter
	}
	return l, nil
}

func sans(size vg.Length) font.Font {
	return font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, size)
}

// newPlot is a plot with rollbench's fonts and sizes and a light grid,
// with vertical lines only on a continuous X axis; an empty label draws
// none.
func newPlot(title, xLabel, yLabel string, continuousX bool) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(titleSize)
	p.Title.Padding = vg.Points(10)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(labelSize)
		a.Label.Padding = vg.Points(6)
		a.Tick.Label.Font = sans(tickSize)
	}
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	g := plotter.NewGrid()
	g.Horizontal.Color, g.Horizontal.Width = gridColor, vg.Points(0.75)
	g.Vertical.Color, g.Vertical.Width = nil, vg.Points(0.75)
	if continuousX {
		g.Vertical.Color = gridColor
	}
	p.Add(g)
	return p
}

// frame is the part of a canvas a plot draws on, inside the margin.
func frame(c vg.CanvasSizer) draw.Canvas {
	return draw.Crop(draw.New(c), margin, -margin, margin, -margin)
}

// render draws p at the picture height and width w.
func render(p *plot.Plot, w vg.Length) *vgimg.Canvas {
	c := vgimg.NewWith(vgimg.UseWH(w, Height), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
	p.Draw(frame(c))
	return c
}

// savePNG draws p at the picture height and width w into a PNG file at path.
func savePNG(p *plot.Plot, w vg.Length, path string) error {
	c := render(p, w)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// niceTicks labels an axis at 1, 2, 2.5 or 5 times a power of ten, five or
// six times over its range (whole numbers only when integer), with an
// unlabelled tick between labels.
type niceTicks struct{ integer bool }

func (n niceTicks) Ticks(lo, hi float64) []plot.Tick {
	// The smallest step that spans the range in at most six: the range is
	// between 6 and 60 times mag, so 10 mag always does.
	mag := math.Pow(10, math.Floor(math.Log10((hi-lo)/6)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if (hi-lo)/(m*mag) <= 6 {
			step = m * mag
			break
		}
	}
	if n.integer {
		step = math.Max(1, math.Round(step))
	}
	// As many decimals as the step has, so that labels read alike.
	decimals := 0
	if s := strconv.FormatFloat(step, 'f', -1, 64); strings.Contains(s, ".") {
		decimals = len(s) - strings.Index(s, ".") - 1
	}
	var ticks []plot.Tick
	for i := math.Ceil(lo / step); i*step <= hi+step*1e-9; i++ {
		v := i * step
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', decimals, 64)})
		if minor := v + step/2; minor <= hi && (!n.integer || minor == math.Trunc(minor)) {
			ticks = append(ticks, plot.Tick{Value: minor})
		}
	}
	return ticks
}

// seconds prints a time with three significant digits, as the console's
// timeline line does for short runs.
func seconds(s float64) string {
	return strconv.FormatFloat(s, 'g', 3, 64)
}

// WritePlots draws the pictures of a summarized folder into it and returns their
// file names in the order to list them: the speedup bars when some row has
// a speedup, speedup against mismatch when some row has a mismatch, then
// each row's running and CDF pictures when its result has
// a timeline. A result without a timeline has no pictures.
func WritePlots(dir string, s Summary) ([]string, error) {
	var names []string
	var bars []Bar
	for _, e := range s.Rows {
		// An A/A row is its model's band, not a bar.
		if e.Speedup.Ratio == nil || e.Status != StatusOK || e.AA {
			continue
		}
		bars = append(bars, barOf(e))
	}
	if len(bars) > 0 {
		if err := PlotSpeedups(filepath.Join(dir, "speedup.png"), bars); err != nil {
			return names, fmt.Errorf("draw speedup.png: %w", err)
		}
		names = append(names, "speedup.png")
	}
	if points, undrawn := mismatchPoints(s); len(points) > 0 {
		if err := PlotMismatch(filepath.Join(dir, "mismatch.png"), points, undrawn); err != nil {
			return names, fmt.Errorf("draw mismatch.png: %w", err)
		}
		names = append(names, "mismatch.png")
	}
	for _, e := range s.Rows {
		// A paired file's arms share it, and their timelines are the
		// arms' own: no pictures yet.
		if e.Status != StatusOK || !strings.HasSuffix(e.Source, ".json") || e.Paired != nil {
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
		title := e.Model + " " + e.Label()
		for _, d := range []struct {
			suffix string
			build  func(string, *Timeline) (*plot.Plot, error)
		}{{".running.png", runningPlot}, {".cdf.png", cdfPlot}} {
			p, err := d.build(title, t)
			if err == nil {
				err = savePNG(p, Width, filepath.Join(dir, stem+d.suffix))
			}
			if err != nil {
				return names, fmt.Errorf("draw %s: %w", stem+d.suffix, err)
			}
			names = append(names, stem+d.suffix)
		}
	}
	return names, nil
}
