package views

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"switchboard"
)

// SubaccountStatsRow is one subaccount's figures over the period (or their
// totals), as the statistics table shows them.
type SubaccountStatsRow struct {
	OrgID  int64
	Name   string
	Status switchboard.SubaccountStatus
	// Messages sent in the period, split by their status now.
	Messages, Queued, Sent, Delivered, Failed int64
	Parts                                     int64
	// Cost is what was spent less what was refunded in the period; Daily
	// is the same day by day, one entry per day of the period.
	Cost  switchboard.Money
	Daily []switchboard.Money
}

// The statistics' periods: the Period field's choices.
const (
	PeriodThisMonth  = "this-month"
	PeriodLastMonth  = "last-month"
	PeriodLast30Days = "last-30-days"
	PeriodCustom     = "custom"
)

// periodOptions are the choices of the Period field.
var periodOptions = []Option{
	{Value: PeriodThisMonth, Label: "This month"},
	{Value: PeriodLastMonth, Label: "Last month"},
	{Value: PeriodLast30Days, Label: "Last 30 days"},
	{Value: PeriodCustom, Label: "Custom range"},
}

// chartSeriesShown is how many subaccounts the chart draws on their own;
// the others are summed as "Others". Beyond six, colours stop being told
// apart at a glance.
const chartSeriesShown = 5

// chartSeries is one stack of the chart: a subaccount, or Others.
type chartSeries struct {
	Name  string
	Class string // the colour, from static/app.css
	Daily []switchboard.Money
	Cost  switchboard.Money
}

// chartBar is one segment of a day's stack.
type chartBar struct {
	X, Y, W, H string
	Class      string
	Title      string // "Acme Estonia, 3 Nov 2026: €1.20"
}

// chartTick is a line of the chart's scale, or a day under it.
type chartTick struct {
	Pos   string
	Label string
}

// costChart is the chart of cost per day per subaccount, laid out for the
// SVG: every coordinate is worked out here, on the server.
type costChart struct {
	Title, Desc string
	Series      []chartSeries
	Days        []string // the dates of the period, as the table shows them
	Bars        []chartBar
	YTicks      []chartTick
	XTicks      []chartTick
	Empty       bool // nothing was spent: axes and a sentence
	// Zero is where the axis of zero lies.
	Zero string
	cur  switchboard.Currency
}

// format writes an amount of the chart as the rest of the panel does.
func (c costChart) format(m switchboard.Money) string { return c.cur.Format(m) }

// The chart's frame, in the units of its viewBox.
const (
	chartWidth  = 720
	chartHeight = 260
	chartLeft   = 72 // room for the scale's amounts
	chartRight  = 8
	chartTop    = 10
	chartBottom = 26 // room for the days
)

// chartViewBox is the SVG's viewBox.
var chartViewBox = "0 0 " + strconv.Itoa(chartWidth) + " " + strconv.Itoa(chartHeight)

// chartSeriesOf picks the series of the chart: the subaccounts that cost
// most in the period on their own (all of them when there are at most
// six), the rest summed as "Others".
func chartSeriesOf(rows []SubaccountStatsRow, days int) []chartSeries {
	order := make([]SubaccountStatsRow, len(rows))
	copy(order, rows)
	slices.SortStableFunc(order, func(a, b SubaccountStatsRow) int {
		return cmp.Or(cmp.Compare(b.Cost, a.Cost), cmp.Compare(a.Name, b.Name))
	})
	shown := len(order)
	if shown > chartSeriesShown+1 {
		shown = chartSeriesShown
	}
	var list []chartSeries
	for i, r := range order[:shown] {
		list = append(list, chartSeries{Name: r.Name, Class: "chart-s" + strconv.Itoa(i+1), Daily: r.Daily, Cost: r.Cost})
	}
	if shown < len(order) {
		others := chartSeries{Name: "Others", Class: "chart-others", Daily: make([]switchboard.Money, days)}
		for _, r := range order[shown:] {
			for d, c := range r.Daily {
				others.Daily[d] += c
			}
			others.Cost += r.Cost
		}
		list = append(list, others)
	}
	return list
}

// chart lays out the chart of the view: a stacked bar per day (refunds
// larger than a day's spending go below the axis of zero), a scale of
// round amounts, and a date under the bars every few days.
func (v SubaccountStatsView) chart() costChart {
	days := v.Days()
	ch := costChart{Series: chartSeriesOf(v.Rows, days), cur: v.Currency}
	period := date(v.From) + " to " + date(v.To) + " (UTC)"
	ch.Title = "Cost per day per subaccount, " + period
	for d := range days {
		ch.Days = append(ch.Days, date(v.From.AddDate(0, 0, d)))
	}
	// The highest and lowest a stack reaches.
	var top, bottom switchboard.Money
	busiest, busiestDay := switchboard.Money(0), 0
	for d := range days {
		var up, down switchboard.Money
		for _, s := range ch.Series {
			if c := s.Daily[d]; c > 0 {
				up += c
			} else {
				down += c
			}
		}
		top, bottom = max(top, up), min(bottom, down)
		if up > busiest {
			busiest, busiestDay = up, d
		}
	}
	ch.Empty = top == 0 && bottom == 0
	step := niceStep((top - bottom) / 4)
	top = (top + step - 1) / step * step
	bottom = -((-bottom + step - 1) / step * step)
	if top == bottom {
		top = step
	}
	plotW := float64(chartWidth - chartLeft - chartRight)
	plotH := float64(chartHeight - chartTop - chartBottom)
	y := func(m switchboard.Money) float64 {
		return chartTop + plotH*float64(top-m)/float64(top-bottom)
	}
	ch.Zero = num(y(0))
	for m := bottom; m <= top; m += step {
		ch.YTicks = append(ch.YTicks, chartTick{Pos: num(y(m)), Label: v.Currency.Format(m)})
	}
	slot := plotW / float64(max(days, 1))
	every := (days + 9) / 10 // at most ten dates under the bars
	for d := 0; d < days; d += max(every, 1) {
		ch.XTicks = append(ch.XTicks, chartTick{Pos: num(chartLeft + slot*(float64(d)+0.5)), Label: shortDate(v.From.AddDate(0, 0, d))})
	}
	for d := range days {
		x := chartLeft + slot*(float64(d)+0.15)
		up, down := switchboard.Money(0), switchboard.Money(0)
		for _, s := range ch.Series {
			c := s.Daily[d]
			if c == 0 {
				continue
			}
			var y0, y1 float64
			if c > 0 {
				y0, y1 = y(up+c), y(up)
				up += c
			} else {
				y0, y1 = y(down), y(down+c)
				down += c
			}
			ch.Bars = append(ch.Bars, chartBar{X: num(x), Y: num(y0), W: num(slot * 0.7), H: num(max(y1-y0, 0.5)), Class: s.Class,
				Title: s.Name + ", " + ch.Days[d] + ": " + v.Currency.Format(c)})
		}
	}
	if ch.Empty {
		ch.Desc = "Nothing was spent by any subaccount in this period."
	} else {
		ch.Desc = "Stacked bars, one per day, one colour per subaccount (" + itoa(int64(len(ch.Series))) + " in the legend). The busiest day was " +
			ch.Days[busiestDay] + ", at " + v.Currency.Format(busiest) + ". The table after the chart holds the same figures."
	}
	return ch
}

// niceStep rounds an amount up to a step a scale reads well: 1, 2 or 5
// times a power of ten of the cent, a cent at least.
func niceStep(m switchboard.Money) switchboard.Money {
	step := switchboard.Money(100) // a cent
	for {
		for _, k := range []switchboard.Money{1, 2, 5} {
			if step*k >= m {
				return step * k
			}
		}
		step *= 10
	}
}

// num writes a coordinate with one decimal at most.
func num(f float64) string { return strconv.FormatFloat(float64(int64(f*10+0.5))/10, 'f', -1, 64) }

func shortDate(t time.Time) string { return t.UTC().Format("2 Jan") }
