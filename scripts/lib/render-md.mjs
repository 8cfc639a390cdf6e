// Renders a report model (see report.mjs) as Markdown: the tables, warnings and notes. Charts
// live only in report.html; the Markdown names them so a reader knows where to look.
import { cell } from './format.mjs';

export function renderMarkdown(model) {
  const out = [`# ${model.title}`, ''];
  if (model.subtitle) out.push(model.subtitle, '');
  for (const w of model.warnings) out.push(`> **⚠ ${w}**`, '');
  for (const section of model.sections) {
    if (section.blocks.every((b) => b.kind === 'chart')) continue;
    out.push(`## ${section.title}`, '');
    for (const block of section.blocks) out.push(...renderBlock(block), '');
  }
  const charts = model.sections.flatMap((s) => s.blocks.filter((b) => b.kind === 'chart'));
  if (charts.length)
    out.push(`_Charts (${charts.map((c) => c.title).join(', ')}) are in report.html._`, '');
  return out.join('\n');
}

const blockRenderers = {
  table(b) {
    const lines = [];
    if (b.caption) lines.push(b.caption, '');
    lines.push('| ' + b.columns.map(cell).join(' | ') + ' |');
    lines.push('|' + b.columns.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|') + '|');
    for (const row of b.rows) lines.push('| ' + row.map(cell).join(' | ') + ' |');
    return lines;
  },
  text(b) {
    return [b.text];
  },
  warning(b) {
    return [`> **⚠ ${b.text}**`];
  },
  chart() {
    return [];
  },
};

function renderBlock(block) {
  const render = blockRenderers[block.kind];
  if (!render) throw new Error(`Unknown report block kind: "${block.kind}"`);
  return render(block);
}
