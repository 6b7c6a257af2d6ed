// The speedup-vs-mismatch picture: what a quantization buys (its speedup
// over bf16, with its interval) against what it costs (its k3 KL against
// the BF16 reference), beside the mismatch bf16 itself shows, the floor.

package report

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// MismatchPoint is one scored configuration: its k3 KL and its speedup
// over bf16 with its 95% interval (Low = High = Ratio without a bounded
// one). A Floor point is a model's bf16 row: speedup 1 by definition, at
// the mismatch that exists without quantization.
type MismatchPoint struct {
	Model, Label     string
	K3KL             float64
	Ratio, Low, High float64
	Floor            bool
}

// mismatchPoints are the points of a summary's scored rows, and the
// labels of those a log axis cannot place (a k3 KL of 0, NaN or +Inf).
func mismatchPoints(s Summary) (points []MismatchPoint, undrawn []string) {
	for _, e := range s.Rows {
		if !scored(e) || !e.Speedup.Baseline && e.Speedup.Ratio == nil {
			continue
		}
		pt := MismatchPoint{Model: e.Model, Label: e.Label(), K3KL: e.Mismatch.K3KL.Value, Ratio: 1, Low: 1, High: 1, Floor: e.Speedup.Baseline}
		if !pt.Floor {
			b := barOf(e)
			pt.Ratio, pt.Low, pt.High = b.Ratio, b.Low, b.High
		}
		if !(pt.K3KL > 0) || math.IsInf(pt.K3KL, 1) {
			undrawn = append(undrawn, e.Model+" "+e.Label()+" (k3 KL "+sci(pt.K3KL)+")")
			continue
		}
		points = append(points, pt)
	}
	return points, undrawn
}

// PlotMismatch draws the points into a PNG at path; undrawn names the
// configurations left out, in the title.
func PlotMismatch(path string, points []MismatchPoint, undrawn []string) error {
	p, err := mismatchPlot(points, undrawn)
	if err != nil {
		return err
	}
	return savePNG(p, Width, path)
}

// pointErrors are the bounded intervals of points, as plotter's error
// bars.
type pointErrors []MismatchPoint

func (pe pointErrors) Len() int                    { return len(pe) }
func (pe pointErrors) XY(i int) (float64, float64) { return pe[i].K3KL, pe[i].Ratio }
func (pe pointErrors) YError(i int) (float64, float64) {
	return pe[i].Ratio - pe[i].Low, pe[i].High - pe[i].Ratio
}

// mismatchPlot is the scatter of speedup against k3 KL on a log axis, a
// colour per model, each model's floor a dotted vertical line.
func mismatchPlot(points []MismatchPoint, undrawn []string) (*plot.Plot, error) {
	if len(points) == 0 {
		return nil, errors.New("no scored configuration to draw")
	}
	title := "speedup vs mismatch"
	if slices.ContainsFunc(points, func(pt MismatchPoint) bool { return pt.Low < pt.High }) {
		title += ", with 95% intervals"
	}
	title += "\ndotted: each model's bf16 floor (its mismatch without quantization)"
	if len(undrawn) > 0 {
		title += "\nnot drawn: " + strings.Join(undrawn, ", ")
	}
	p := newPlot(title, "k3 KL against the BF16 reference (log scale)", "speedup vs bf16 (x)", true)
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = decadeTicks{}

	lo, hi := math.Inf(1), math.Inf(-1)
	bottom, top := 1.0, 1.0
	for _, pt := range points {
		lo, hi = min(lo, pt.K3KL), max(hi, pt.K3KL)
		bottom, top = min(bottom, pt.Low), max(top, pt.High)
	}
	// Whole decades, with room right of the last point for its label.
	p.X.Min = math.Pow(10, math.Floor(math.Log10(lo/1.5)))
	p.X.Max = math.Pow(10, math.Ceil(math.Log10(hi*4)))
	span := top - bottom
	if span < 0.1 {
		span = 0.1
	}
	var models []string
	for _, pt := range points {
		if !slices.Contains(models, pt.Model) {
			models = append(models, pt.Model)
		}
	}
	p.Y.Min = bottom - 0.15*span
	// Above the highest whisker, a row for each model's floor label, one
	// over the other so that floors close together keep theirs apart.
	row := 0.12 * span
	p.Y.Max = top + row*float64(len(models)+1)
	p.Y.Tick.Marker = niceTicks{}

	one := plotter.NewFunction(func(float64) float64 { return 1 })
	one.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	one.Width = vg.Points(1)
	p.Add(one)

	var labels []*plotter.Labels
	for i, m := range models {
		lineTop := top + row*float64(i+1)
		c := plotutil.Color(i)
		var at plotter.XYs
		var texts []string
		var whisk pointErrors
		for _, pt := range points {
			if pt.Model != m {
				continue
			}
			at = append(at, plotter.XY{X: pt.K3KL, Y: pt.Ratio})
			text := fmt.Sprintf("%s %s %.2fx", pt.Model, pt.Label, pt.Ratio)
			if pt.Floor {
				floor, err := plotter.NewLine(plotter.XYs{{X: pt.K3KL, Y: p.Y.Min}, {X: pt.K3KL, Y: lineTop}})
				if err != nil {
					return nil, err
				}
				floor.Color, floor.Width = c, vg.Points(1.5)
				floor.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
				p.Add(floor)
				name, err := valueLabels(plotter.XYs{{X: pt.K3KL, Y: lineTop}}, []string{m + " bf16 floor " + sci(pt.K3KL)})
				if err != nil {
					return nil, err
				}
				name.TextStyle[0].Color = c
				name.TextStyle[0].XAlign, name.TextStyle[0].YAlign = draw.XLeft, draw.YCenter
				name.Offset.X = vg.Points(4)
				labels = append(labels, name)
				// The floor's line names it; its point is bf16's 1x.
				text = ""
			}
			texts = append(texts, text)
			if pt.Low < pt.High {
				whisk = append(whisk, pt)
			}
		}
		if len(whisk) > 0 {
			errs, err := plotter.NewYErrorBars(whisk)
			if err != nil {
				return nil, err
			}
			errs.LineStyle.Color, errs.LineStyle.Width = c, vg.Points(1.5)
			errs.CapWidth = vg.Points(10)
			p.Add(errs)
		}
		dots, err := plotter.NewScatter(at)
		if err != nil {
			return nil, err
		}
		dots.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(4), Shape: draw.CircleGlyph{}}
		p.Add(dots)
		named, err := valueLabels(at, texts)
		if err != nil {
			return nil, err
		}
		// Right of each point, where the next configuration of a model is
		// seldom: quantization moves points right and up or down.
		for j := range named.TextStyle {
			named.TextStyle[j].XAlign, named.TextStyle[j].YAlign = draw.XLeft, draw.YCenter
		}
		named.Offset.X = vg.Points(8)
		labels = append(labels, named)
	}
	// At the left, where the floors and the points right of them leave
	// room.
	one1, err := valueLabels(plotter.XYs{{X: p.X.Min, Y: 1}}, []string{"bf16 = 1x"})
	if err != nil {
		return nil, err
	}
	one1.TextStyle[0].XAlign = draw.XLeft
	one1.Offset = vg.Point{X: vg.Points(3), Y: vg.Points(6)}
	labels = append(labels, one1)
	for _, l := range labels {
		p.Add(backed{dropEmpty(l)})
	}
	return p, nil
}

// dropEmpty leaves out labels without text, whose white box would hide
// what is under it.
func dropEmpty(l *plotter.Labels) *plotter.Labels {
	for i := len(l.Labels) - 1; i >= 0; i-- {
		if l.Labels[i] == "" {
			l.Labels = slices.Delete(l.Labels, i, i+1)
			l.XYs = slices.Delete(l.XYs, i, i+1)
			l.TextStyle = slices.Delete(l.TextStyle, i, i+1)
		}
	}
	return l
}

// decadeTicks labels a log axis at each power of ten, 1e-06, with an
// unlabelled tick at 2 to 9 times each.
type decadeTicks struct{}

func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for k := math.Floor(math.Log10(lo)); k <= math.Ceil(math.Log10(hi)); k++ {
		d := math.Pow(10, k)
		if d >= lo*(1-1e-9) && d <= hi*(1+1e-9) {
			ticks = append(ticks, plot.Tick{Value: d, Label: strconv.FormatFloat(d, 'e', 0, 64)})
		}
		for m := 2.0; m < 10; m++ {
			if v := m * d; v > lo && v < hi {
				ticks = append(ticks, plot.Tick{Value: v})
			}
		}
	}
	return ticks
}
