package main

import (
	"fmt"
	"os"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// WriteChart draws three panels sharing the time axis (seconds from the
// start of the load): creatives per second accepted, decided and notified;
// the latency of the tasks notified in each second; and the cores each
// process group used.
func WriteChart(path string, r *Report) error {
	title := fmt.Sprintf("load %s: %d per call, %d buyers, %s", r.RunID, r.Settings.PerCall, r.Settings.Buyers, r.Settings.Duration)
	tp := plot.New()
	tp.Title.Text = title
	tp.Y.Label.Text = "creatives/s"
	var acc, dec, not plotter.XYs
	for _, p := range r.Series {
		x := float64(p.T) + 0.5 // the middle of its second
		acc = append(acc, plotter.XY{X: x, Y: float64(p.Accepted)})
		dec = append(dec, plotter.XY{X: x, Y: float64(p.Decided)})
		not = append(not, plotter.XY{X: x, Y: float64(p.Notified)})
	}
	if err := plotutil.AddLines(tp, "accepted", acc, "decided", dec, "notified", not); err != nil {
		return err
	}

	lp := plot.New()
	lp.Y.Label.Text = "task latency (s)"
	var p50, p99, pmax plotter.XYs
	for _, p := range r.Series {
		if p.Max == 0 {
			continue // no task finished in this second
		}
		x := float64(p.T) + 0.5
		p50 = append(p50, plotter.XY{X: x, Y: p.P50 / 1000})
		p99 = append(p99, plotter.XY{X: x, Y: p.P99 / 1000})
		pmax = append(pmax, plotter.XY{X: x, Y: p.Max / 1000})
	}
	if len(p50) > 0 {
		// Points as well as lines: when few tasks finish, a line alone would
		// suggest latencies between them that no task had.
		if err := plotutil.AddLinePoints(lp, "p50", p50, "p99", p99, "max", pmax); err != nil {
			return err
		}
	}

	cp := plot.New()
	cp.Y.Label.Text = "CPU (cores)"
	cp.X.Label.Text = "seconds since the load started"
	if err := addCPULines(cp, r.CPUSeries); err != nil {
		return err
	}

	plots := [][]*plot.Plot{{tp}, {lp}, {cp}}
	for _, row := range plots {
		row[0].Legend.Top = true
		row[0].Add(plotter.NewGrid())
		// One time axis for all three, so a moment lines up across them.
		row[0].X.Min, row[0].X.Max = 0, float64(len(r.Series))
		row[0].Y.Min = 0
	}
	img := vgimg.New(vg.Points(900), vg.Points(1000))
	dc := draw.New(img)
	t := draw.Tiles{Rows: 3, Cols: 1, PadX: vg.Millimeter, PadY: vg.Millimeter * 3,
		PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	canvases := plot.Align(plots, t, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close() // the write error is the one worth reporting
		return err
	}
	return f.Close()
}

// addCPULines adds one line per process group, in a stable order.
func addCPULines(p *plot.Plot, series []CPUPoint) error {
	groups := map[string]plotter.XYs{}
	for _, pt := range series {
		for g, c := range pt.Cores {
			groups[g] = append(groups[g], plotter.XY{X: pt.T, Y: c})
		}
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	var vs []any
	for _, g := range names {
		vs = append(vs, g, groups[g])
	}
	if len(vs) == 0 {
		return nil
	}
	return plotutil.AddLines(p, vs...)
}
