package views

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"switchboard"
)

// statsView is a view of days days from 1 March 2026 with one subaccount
// per cost given, each spending its cost on the first day.
func statsView(days int, costs ...switchboard.Money) SubaccountStatsView {
	from := time.Date(2026, time.March, 1, 0, 0, 0, 0, time.UTC)
	v := SubaccountStatsView{OrgID: 7, Shown: true, From: from, To: from.AddDate(0, 0, days-1), Currency: "EUR"}
	v.Total.Daily = make([]switchboard.Money, days)
	for i, c := range costs {
		r := SubaccountStatsRow{OrgID: int64(100 + i), Name: fmt.Sprintf("Team %02d", i+1), Status: switchboard.SubaccountActive, Cost: c,
			Daily: make([]switchboard.Money, days)}
		r.Daily[0] = c
		v.Total.Daily[0] += c
		v.Total.Cost += c
		v.Rows = append(v.Rows, r)
	}
	return v
}

func renderStats(t *testing.T, v SubaccountStatsView) string {
	t.Helper()
	var b bytes.Buffer
	if err := SubaccountStatistics(v).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var svgElement = regexp.MustCompile(`(?s)<svg.*</svg>`)

// wellFormedSVG fails the test unless the page holds one SVG that is
// well-formed XML with a title and no style.
func wellFormedSVG(t *testing.T, page string) string {
	t.Helper()
	svg := svgElement.FindString(page)
	if svg == "" {
		t.Fatalf("no SVG in\n%s", page)
	}
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("the SVG is not well-formed: %v\n%s", err, svg)
		}
	}
	if !strings.Contains(svg, `<title id="cost-chart-title">`) || strings.Contains(page, "style=") || strings.Contains(page, "<style") {
		t.Fatalf("an SVG without its title, or with a style:\n%s", svg)
	}
	return svg
}

// TestCostChartManySubaccounts: of eight subaccounts the chart draws the
// five that cost most and sums the other three as Others, in the legend,
// the bars and the screen readers' table alike.
func TestCostChartManySubaccounts(t *testing.T) {
	v := statsView(3, 100, 800, 300, 700, 200, 600, 500, 400)
	page := renderStats(t, v)
	svg := wellFormedSVG(t, page)
	legend := regexp.MustCompile(`<li><span class="chart-swatch (chart-[a-z0-9]+)" aria-hidden="true"></span>([^<]+)</li>`).FindAllStringSubmatch(page, -1)
	var got []string
	for _, m := range legend {
		got = append(got, m[1]+" "+m[2])
	}
	want := []string{"chart-s1 Team 02", "chart-s2 Team 04", "chart-s3 Team 06", "chart-s4 Team 07", "chart-s5 Team 08", "chart-others Others"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("legend %v, want %v", got, want)
	}
	// Others: 100 + 300 + 200 of a unit of 1/10,000 are €0.06.
	if !strings.Contains(svg, `<rect class="chart-others"`) || !strings.Contains(svg, "<title>Others, 1 Mar 2026: €0.06</title>") {
		t.Errorf("no bar of Others worth €0.06:\n%s", svg)
	}
	if n := strings.Count(svg, "<rect"); n != 6 {
		t.Errorf("%d bars, want 6", n)
	}
	if !strings.Contains(page, `<th scope="col">Others</th>`) {
		t.Errorf("the chart's table has no column of Others")
	}
	// Six subaccounts are all drawn, none as Others.
	page = renderStats(t, statsView(3, 100, 200, 300, 400, 500, 600))
	if strings.Contains(page, "Others") || !strings.Contains(page, "chart-s6") {
		t.Errorf("six subaccounts are not drawn on their own")
	}
}

// TestCostChartEmpty: a period nothing was spent in draws the axes, a
// well-formed SVG with its title, and a sentence; no subaccounts at all is
// a sentence instead of the table and chart.
func TestCostChartEmpty(t *testing.T) {
	page := renderStats(t, statsView(31, 0, 0))
	svg := wellFormedSVG(t, page)
	if strings.Contains(svg, "<rect") || strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Errorf("an empty chart with bars or broken coordinates:\n%s", svg)
	}
	if !strings.Contains(page, "Nothing was spent by any subaccount in this period, so the chart has no bars.") {
		t.Errorf("no sentence for the empty chart")
	}
	page = renderStats(t, statsView(31))
	if strings.Contains(page, "<svg") || !strings.Contains(page, "There are no subaccounts yet") {
		t.Errorf("no subaccounts:\n%s", page)
	}
}

// TestCostChartRefunds: a day whose refunds outweigh its spending goes
// below the axis of zero, inside the frame.
func TestCostChartRefunds(t *testing.T) {
	v := statsView(2, 1000, 500)
	v.Rows[0].Daily[1] = -3000
	page := renderStats(t, v)
	svg := wellFormedSVG(t, page)
	if !strings.Contains(svg, "<title>Team 01, 2 Mar 2026: -€0.30</title>") {
		t.Errorf("no bar of the refund:\n%s", svg)
	}
	for _, m := range regexp.MustCompile(` (?:y|height)="(-?[0-9.]+)"`).FindAllStringSubmatch(svg, -1) {
		var f float64
		fmt.Sscan(m[1], &f)
		if f < 0 || f > chartHeight {
			t.Errorf("a coordinate %s outside the frame:\n%s", m[0], svg)
		}
	}
}
