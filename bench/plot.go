package main

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// writePlot draws the open-loop sweeps: p50 (dashed) and p99 (solid)
// latency of whole iterations against the offered rate, one colour per
// flow, on a log scale.
func writePlot(path string, sweeps []*FlowResult, title string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "offered load (iterations/s, open loop)"
	p.Y.Label.Text = "latency of a whole iteration (ms, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())

	var order []string
	byFlow := map[string][]*FlowResult{}
	for _, r := range sweeps {
		if _, ok := byFlow[r.Flow]; !ok {
			order = append(order, r.Flow)
		}
		byFlow[r.Flow] = append(byFlow[r.Flow], r)
	}
	if len(order) == 0 {
		return fmt.Errorf("plot: no open-loop results (use -sweep or -rate)")
	}
	for i, name := range order {
		rs := byFlow[name]
		p50, p99 := make(plotter.XYs, 0, len(rs)), make(plotter.XYs, 0, len(rs))
		for _, r := range rs {
			if r.Latency.Count == 0 {
				continue
			}
			// A log scale has no 0: the resolution of the samples is 1 µs.
			p50 = append(p50, plotter.XY{X: r.OfferedRate, Y: math.Max(r.Latency.P50, 0.001)})
			p99 = append(p99, plotter.XY{X: r.OfferedRate, Y: math.Max(r.Latency.P99, 0.001)})
		}
		if len(p99) == 0 {
			continue
		}
		color := plotutil.Color(i)
		for _, s := range []struct {
			xys    plotter.XYs
			label  string
			dashed bool
		}{{p99, name + " p99", false}, {p50, name + " p50", true}} {
			l, pts, err := plotter.NewLinePoints(s.xys)
			if err != nil {
				return err
			}
			l.Color, pts.Color = color, color
			l.Width = vg.Points(1.5)
			pts.Shape = draw.CircleGlyph{}
			if s.dashed {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(l, pts)
			p.Legend.Add(s.label, l, pts)
		}
	}
	return p.Save(9*vg.Inch, 5.5*vg.Inch, path)
}
