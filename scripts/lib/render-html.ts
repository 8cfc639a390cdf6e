// Renders a report model (see model.ts) as one self-contained HTML page: Chart.js is inlined
// from node_modules (no network at view time), the chart configs travel as JSON in the page.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { html } from './format.js';
import type { Block, ReportModel, Section } from './model.js';

const require = createRequire(import.meta.url);
let chartJsSource: string | null = null;

/** chart.js does not export its UMD build as a subpath, so find it beside the package's main. */
async function loadChartJs(): Promise<string> {
  if (chartJsSource === null) {
    const umd = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js');
    chartJsSource = await readFile(umd, 'utf8');
    if (chartJsSource.includes('</script'))
      throw new Error(`${umd} cannot be inlined: contains </script`);
  }
  return chartJsSource;
}

/** JSON that is safe inside <script>: no "</script>" or "<!--" can appear. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replaceAll('<', '\\u003c');
}

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#1d1d1f}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:8px 0 4px}th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f5f5f7}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:8px 12px;margin:8px 0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}
figure{margin:0;border:1px solid #eee;border-radius:6px;padding:8px}figcaption{font-weight:600;margin-bottom:4px}
.chartbox{position:relative;height:300px}caption{text-align:left;color:#555;padding-bottom:4px}
`;

function renderBlock(b: Block): string {
  switch (b.kind) {
    case 'table': {
      const head = '<tr>' + b.columns.map((c) => `<th>${html(c)}</th>`).join('') + '</tr>';
      const body = b.rows.map(
        (r) => '<tr>' + r.map((c) => `<td>${html(c)}</td>`).join('') + '</tr>',
      );
      const caption = b.caption !== undefined ? `<caption>${html(b.caption)}</caption>` : '';
      return `<table>${caption}<thead>${head}</thead><tbody>${body.join('')}</tbody></table>`;
    }
    case 'text':
      return `<p>${html(b.text)}</p>`;
    case 'warning':
      return `<div class="warn">⚠ ${html(b.text)}</div>`;
    case 'chart':
      return (
        `<figure><figcaption>${html(b.title)}</figcaption>` +
        `<div class="chartbox"><canvas id="${html(b.id)}" data-chart="${html(b.id)}"></canvas></div></figure>`
      );
  }
}

function renderSection(section: Section): string {
  const parts: string[] = [];
  let charts: string[] = [];
  const flush = (): void => {
    if (charts.length > 0) parts.push(`<div class="charts">${charts.join('')}</div>`);
    charts = [];
  };
  for (const b of section.blocks) {
    if (b.kind === 'chart') charts.push(renderBlock(b));
    else {
      flush();
      parts.push(renderBlock(b));
    }
  }
  flush();
  return `<section><h2>${html(section.title)}</h2>${parts.join('\n')}</section>`;
}

// Runs in the page: draws every chart from the embedded configs. Animation is off so a chart is
// complete as soon as the page has loaded (and a headless check sees the final drawing).
const BOOT = `
(function(){
  var configs = JSON.parse(document.getElementById('wsbench-charts').textContent);
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Object.keys(configs).forEach(function(id){
    var canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, configs[id]);
  });
  document.documentElement.dataset.chartsReady = 'true';
})();
`;

export async function renderHtml(model: ReportModel): Promise<string> {
  const chartJs = await loadChartJs();
  const configs: Record<string, unknown> = {};
  for (const s of model.sections)
    for (const b of s.blocks) if (b.kind === 'chart') configs[b.id] = b.config;
  const warnings = model.warnings.map((w) => renderBlock({ kind: 'warning', text: w })).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${html(model.title)}</title>
<style>${CSS}</style>
</head><body>
<h1>${html(model.title)}</h1>
${model.subtitle !== '' ? `<p class="sub">${html(model.subtitle)}</p>` : ''}
${warnings}
${model.sections.map(renderSection).join('\n')}
<script>${chartJs}</script>
<script type="application/json" id="wsbench-charts">${scriptJson(configs)}</script>
<script>${BOOT}</script>
</body></html>
`;
}
