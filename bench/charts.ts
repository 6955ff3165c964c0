/**
 * The paper's Figures 5 and 6 from measured numbers: ECharts renders SVG on the server (no DOM),
 * resvg turns it into PNG with the system's DejaVu fonts. Both work offline.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PluginId } from './datapath.ts';

export interface ThroughputBars {
  /** `nnet-svc`: the N-Net pairs through a ClusterIP. */
  plugins: { id: PluginId | 'nnet-svc'; label: string }[];
  /** Gbit/s by plugin, [same host, across hosts] */
  gbps: Record<string, [number, number]>;
}

export interface RttLines {
  plugins: { id: PluginId; label: string }[];
  counts: number[];
  /** avg RTT ms by plugin, per count, for same host and across hosts */
  same: Record<string, number[]>;
  across: Record<string, number[]>;
}

const COLORS: Record<PluginId | 'nnet-svc', string> = {
  nnet: '#c0392b',
  'nnet-svc': '#f0a08f',
  hybrid: '#2e86c1',
  flannel: '#7f8c8d',
  bare: '#27ae60',
  nested: '#8e44ad',
};
const FONT = 'DejaVu Sans';
// Without a canvas echarts measures text with narrower (Helvetica-like) widths than DejaVu's: give
// legend items a fixed width so they do not overlap.
const LEGEND_TEXT = { width: 175, overflow: 'truncate' };
const nanToNull = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);

async function render(option: Record<string, unknown>, width: number, height: number, file: string) {
  const echarts = await import('echarts');
  const { Resvg } = await import('@resvg/resvg-js');
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  chart.setOption({
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: FONT },
    ...option,
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  const png = new Resvg(svg, {
    background: '#ffffff',
    fitTo: { mode: 'width', value: width * 2 },
    font: { loadSystemFonts: true, defaultFontFamily: FONT },
  })
    .render()
    .asPng();
  writeFileSync(file, png);
}

/** Figure 5: grouped bars, TCP throughput per plugin, same host and across hosts. */
export async function throughputChart(d: ThroughputBars, dir: string, subtitle: string): Promise<string> {
  const file = join(dir, 'fig5-throughput.png');
  await render(
    {
      title: { text: 'TCP throughput (iperf3, median)', subtext: subtitle, left: 'center' },
      legend: { top: 58, itemGap: 18, textStyle: LEGEND_TEXT },
      grid: { top: 110, left: 70, right: 30, bottom: 40 },
      xAxis: { type: 'category', data: ['same host', 'across hosts'] },
      yAxis: { type: 'value', name: 'Gbit/s' },
      series: d.plugins.map((p) => ({
        type: 'bar',
        name: p.label,
        itemStyle: { color: COLORS[p.id] },
        label: { show: true, position: 'top', formatter: '{c}' },
        data: (d.gbps[p.id] ?? [Number.NaN, Number.NaN]).map((x) => nanToNull(Math.round(x * 100) / 100)),
      })),
    },
    // wide enough for five legend items on one line
    d.plugins.length > 4 ? 1100 : 900,
    520,
    file,
  );
  return file;
}

/** Figure 6: RTT against the number of packets sent, a line per plugin; same host and across hosts. */
export async function rttChart(d: RttLines, dir: string, subtitle: string): Promise<string> {
  const file = join(dir, 'fig6-rtt.png');
  const panels = [
    { title: 'same host', data: d.same },
    { title: 'across hosts', data: d.across },
  ];
  await render(
    {
      title: [
        { text: 'Ping RTT by packet count (mean)', subtext: subtitle, left: 'center' },
        ...panels.map((p, i) => ({
          text: p.title,
          left: i === 0 ? '25%' : '75%',
          top: 100,
          textAlign: 'center',
          textStyle: { fontSize: 14 },
        })),
      ],
      legend: { top: 58, itemGap: 18, textStyle: LEGEND_TEXT, data: d.plugins.map((p) => p.label) },
      grid: [
        { top: 140, left: 70, width: '38%', bottom: 50 },
        { top: 140, right: 30, width: '38%', bottom: 50 },
      ],
      xAxis: panels.map((_, i) => ({
        type: 'category',
        gridIndex: i,
        name: 'packets',
        nameLocation: 'middle',
        nameGap: 28,
        data: d.counts.map(String),
      })),
      yAxis: panels.map((_, i) => ({ type: 'value', gridIndex: i, name: 'ms', min: 0 })),
      series: panels.flatMap((panel, i) =>
        d.plugins.map((p) => ({
          type: 'line',
          name: p.label,
          xAxisIndex: i,
          yAxisIndex: i,
          symbolSize: 7,
          itemStyle: { color: COLORS[p.id] },
          lineStyle: { color: COLORS[p.id], width: 2 },
          data: (panel.data[p.id] ?? []).map(nanToNull),
        })),
      ),
    },
    1100,
    560,
    file,
  );
  return file;
}
