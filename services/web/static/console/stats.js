// 统计分析: draws each section's bars (ECharts, vendored) from the figures the page carries in
// <script type="application/json" id="stats-charts"> — the same numbers as the table under the
// chart, which stays the accessible and printable form. Without JavaScript the tables remain.

const COLOURS = ["#0b4f8a", "#c2410c", "#57606a", "#1a7f37"];

function option(chart, width) {
  const narrow = width < 520;
  const unit = chart.unit;
  const label = (v) => (v === null || v === undefined ? "" : `${v}${unit}`);
  const stacked = unit !== "%" && chart.series.length > 1;
  return {
    color: COLOURS,
    animation: false,
    textStyle: { fontFamily: "system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif" },
    legend: { show: chart.series.length > 1, top: 0 },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: label },
    grid: { left: 8, right: 48, top: chart.series.length > 1 ? 32 : 8, bottom: 8, containLabel: true },
    xAxis: {
      type: "value",
      splitNumber: narrow ? 3 : 5,
      axisLabel: { formatter: (v) => `${v}${unit}`, hideOverlap: true },
    },
    yAxis: {
      type: "category",
      inverse: true,
      data: chart.categories,
      axisLabel: { width: narrow ? 96 : 180, overflow: "truncate" },
    },
    series: chart.series.map((s) => ({
      name: s.name,
      type: "bar",
      stack: stacked ? "all" : undefined,
      data: s.values,
      label: { show: !stacked, position: "right", formatter: (p) => label(p.value) },
    })),
  };
}

function draw() {
  const data = document.getElementById("stats-charts");
  if (!data || !window.echarts) return;
  const drawn = [];
  for (const chart of JSON.parse(data.textContent)) {
    const el = document.getElementById(`chart-${chart.key}`);
    if (!el) continue;
    el.hidden = false;
    // Room for every bar: one row per category (per series when side by side).
    const rows = chart.categories.length * (chart.unit === "%" ? chart.series.length : 1);
    el.style.height = `${Math.max(200, rows * 28 + 80)}px`;
    const instance = window.echarts.init(el, null, { renderer: "canvas" });
    instance.setOption(option(chart, el.clientWidth));
    el.dataset.drawn = "true";
    drawn.push(instance);
  }
  window.addEventListener("resize", () => drawn.forEach((c) => c.resize()));
}

draw();
