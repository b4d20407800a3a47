package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/store"
)

// viewRange is one of the overview's ranges and its bucket size, chosen
// so the chart has 24 to 72 bars and the hour and day ranges read the
// store's pre-aggregated counts.
type viewRange struct {
	Name           string
	Span, Bucket   time.Duration
	Label, Unit    string
	LabelEvery     int
	DefaultVisible bool
}

var viewRanges = []viewRange{
	{Name: "1h", Span: time.Hour, Bucket: time.Minute, Label: "15:04", Unit: "1-minute", LabelEvery: 10},
	{Name: "6h", Span: 6 * time.Hour, Bucket: 5 * time.Minute, Label: "15:04", Unit: "5-minute", LabelEvery: 12},
	{Name: "24h", Span: 24 * time.Hour, Bucket: time.Hour, Label: "15:04", Unit: "1-hour", LabelEvery: 4},
	{Name: "7d", Span: 7 * 24 * time.Hour, Bucket: 6 * time.Hour, Label: "Jan 2", Unit: "6-hour", LabelEvery: 4},
	{Name: "30d", Span: 30 * 24 * time.Hour, Bucket: 24 * time.Hour, Label: "Jan 2", Unit: "1-day", LabelEvery: 5},
}

// window is [since, until) for a range at now: whole buckets, the last
// one holding now.
func (v viewRange) window(now time.Time) (since, until time.Time) {
	until = now.UTC().Truncate(v.Bucket).Add(v.Bucket)
	return until.Add(-v.Span), until
}

// topN is how many values each top list shows.
const topN = 10

type chartSeg struct {
	P          int
	X, Y, W, H string
	Link       string
	Title      string
}

type chartBar struct{ Segs []chartSeg }

type chartLabel struct {
	X, Y, TextY string
	Label       string
}

type chart struct {
	W, H, Left, Right, LabelX int
	Grid                      []chartLabel
	Bars                      []chartBar
	XLabels                   []chartLabel
}

type prioCount struct {
	P          int
	Name, Link string
	N          int64
}

type topRow struct {
	Value, Title, Link string
	N                  int64
	Pct                string
}

type topList struct {
	Title string
	Rows  []topRow
}

type rangeLink struct {
	Name string
	On   bool
}

type overviewData struct {
	Range, BucketName, Source, Took, AllLink string
	Total                                    int64
	Ranges                                   []rangeLink
	ByPriority                               []prioCount
	Chart                                    chart
	Tops                                     []topList
}

// listLink is /alerts with the window and extra filters.
func listLink(since, until time.Time, kv ...string) string {
	q := url.Values{}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	if !until.IsZero() {
		// The list's until is inclusive, a window's end is not.
		q.Set("until", until.Add(-time.Nanosecond).UTC().Format(time.RFC3339Nano))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return "/alerts?" + q.Encode()
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func (d *dash) overview(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("range")
	if name == "" {
		name = "24h"
	}
	var vr *viewRange
	data := &overviewData{}
	for i := range viewRanges {
		on := viewRanges[i].Name == name
		if on {
			vr = &viewRanges[i]
		}
		data.Ranges = append(data.Ranges, rangeLink{viewRanges[i].Name, on})
	}
	page := pageData{Title: "Overview", Nav: "overview", Data: data}
	if vr == nil {
		page.Error = fmt.Sprintf("range %q: want 1h, 6h, 24h, 7d or 30d", escape.Text(name))
		page.Data = nil
		render(w, http.StatusBadRequest, "overview", page)
		return
	}
	since, until := vr.window(d.o.Now())
	start := time.Now()
	o, err := d.st.Overview(r.Context(), since, until, vr.Bucket, topN)
	if err != nil {
		page.Error, page.Data = err.Error(), nil
		render(w, http.StatusInternalServerError, "overview", page)
		return
	}
	data.Took = time.Since(start).Round(100 * time.Microsecond).String()
	data.Range, data.BucketName, data.Total = vr.Name, vr.Unit, o.Total
	data.Source = map[string]string{"hour": "hourly pre-aggregated counts", "day": "daily pre-aggregated counts", "alerts": "the alerts"}[o.Source]
	data.AllLink = listLink(since, until)
	perPrio := make([]int64, alert.Debug+1)
	for _, p := range o.Series {
		if p.Priority >= 0 && p.Priority <= alert.Debug {
			perPrio[p.Priority] += p.N
		}
	}
	for p := alert.Emergency; p <= alert.Debug; p++ {
		if perPrio[p] > 0 {
			data.ByPriority = append(data.ByPriority, prioCount{int(p), p.String(), listLink(since, until, "priority_eq", p.String()), perPrio[p]})
		}
	}
	data.Chart = drawChart(o, *vr, since, until)
	for _, dim := range store.TopDims {
		tl := topList{Title: map[string]string{store.DimRule: "rules", store.DimContainer: "containers", store.DimImage: "images",
			store.DimPod: "pods", store.DimHost: "hosts"}[dim]}
		rows := o.Top[dim]
		for _, c := range rows {
			var link string
			switch dim {
			case store.DimRule:
				link = listLink(since, until, "rule", c.Value)
			case store.DimContainer:
				link = listLink(since, until, "container", c.Value)
			case store.DimImage:
				link = listLink(since, until, "image", c.Value)
			case store.DimHost:
				link = listLink(since, until, "host", c.Value)
			case store.DimPod:
				ns, pod, _ := strings.Cut(c.Value, "/")
				link = listLink(since, until, "namespace", ns, "pod", pod)
			}
			tl.Rows = append(tl.Rows, topRow{Value: clipped(c.Value, 80), Title: clipped(c.Value, 300), Link: link, N: c.N, Pct: f1(100 * float64(c.N) / float64(rows[0].N))})
		}
		data.Tops = append(data.Tops, tl)
	}
	render(w, http.StatusOK, "overview", page)
}

// clipped is s made visible and cut to n characters, with an ellipsis
// when cut.
func clipped(s string, n int) string {
	c := clipText(s, n)
	if c.Long {
		return c.Short + "…"
	}
	return c.Full
}

// drawChart lays out the stacked bars: one bar per bucket, one segment per
// priority, most severe at the bottom; each segment links to its alerts.
func drawChart(o *store.Overview, vr viewRange, since, until time.Time) chart {
	c := chart{W: 960, H: 240, Left: 52, Right: 950, LabelX: 46}
	top, bottom := 10.0, 214.0
	n := int(until.Sub(since) / vr.Bucket)
	perBucket := make([][]int64, n)
	for i := range perBucket {
		perBucket[i] = make([]int64, alert.Debug+1)
	}
	var peak int64
	for _, p := range o.Series {
		i := int(p.Start.Sub(since) / vr.Bucket)
		if i < 0 || i >= n || p.Priority < 0 || p.Priority > alert.Debug {
			continue
		}
		perBucket[i][p.Priority] += p.N
	}
	for _, b := range perBucket {
		var s int64
		for _, v := range b {
			s += v
		}
		peak = max(peak, s)
	}
	scaleMax := niceCeil(peak)
	for k := 0; k <= 4; k++ {
		v := scaleMax * int64(k) / 4
		y := bottom - (bottom-top)*float64(k)/4
		c.Grid = append(c.Grid, chartLabel{Y: f1(y), TextY: f1(y + 4), Label: strconv.FormatInt(v, 10)})
	}
	slot := float64(c.Right-c.Left) / float64(n)
	bw := slot * 0.8
	for i, b := range perBucket {
		x := float64(c.Left) + slot*float64(i) + (slot-bw)/2
		bs := since.Add(time.Duration(i) * vr.Bucket)
		be := bs.Add(vr.Bucket)
		y := bottom
		var bar chartBar
		for p := alert.Emergency; p <= alert.Debug; p++ {
			if b[p] == 0 {
				continue
			}
			h := (bottom - top) * float64(b[p]) / float64(scaleMax)
			y -= h
			bar.Segs = append(bar.Segs, chartSeg{P: int(p), X: f1(x), Y: f1(y), W: f1(bw), H: f1(max(h, 0.5)),
				Link:  listLink(bs, be, "priority_eq", p.String()),
				Title: fmt.Sprintf("%s – %s UTC: %d %s", bs.Format("Jan 2 15:04"), be.Format("15:04"), b[p], p)})
		}
		c.Bars = append(c.Bars, bar)
		if i%vr.LabelEvery == 0 {
			c.XLabels = append(c.XLabels, chartLabel{X: f1(x + bw/2), Y: f1(bottom + 18), Label: bs.Format(vr.Label)})
		}
	}
	return c
}

// niceCeil is the smallest of 4, 8, 20, 40, 80, 200... times a power of ten
// at or above v, so the four grid lines fall on round numbers.
func niceCeil(v int64) int64 {
	if v <= 4 {
		return 4
	}
	for m := int64(1); ; m *= 10 {
		for _, s := range []int64{4, 8, 20, 40} {
			if s*m >= v {
				return s * m
			}
		}
	}
}
