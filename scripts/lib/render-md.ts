// Renders a report model (see model.ts) as Markdown: the tables, warnings and notes. Charts
// live only in report.html; the Markdown names them so a reader knows where to look.
import { cell } from './format.js';
import type { Block, ReportModel } from './model.js';

export function renderMarkdown(model: ReportModel): string {
  const out = [`# ${model.title}`, ''];
  if (model.subtitle !== '') out.push(model.subtitle, '');
  for (const w of model.warnings) out.push(`> **⚠ ${w}**`, '');
  for (const section of model.sections) {
    if (section.blocks.every((b) => b.kind === 'chart')) continue;
    out.push(`## ${section.title}`, '');
    for (const block of section.blocks) {
      const lines = renderBlock(block);
      if (lines.length > 0) out.push(...lines, '');
    }
  }
  const charts = model.sections.flatMap((s) => s.blocks.filter((b) => b.kind === 'chart'));
  if (charts.length > 0)
    out.push(`_Charts (${charts.map((c) => c.title).join(', ')}) are in report.html._`, '');
  return out.join('\n');
}

function renderBlock(b: Block): string[] {
  switch (b.kind) {
    case 'table': {
      const lines: string[] = [];
      if (b.caption !== undefined) lines.push(b.caption, '');
      lines.push('| ' + b.columns.map(cell).join(' | ') + ' |');
      lines.push('|' + b.columns.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|') + '|');
      for (const row of b.rows) lines.push('| ' + row.map(cell).join(' | ') + ' |');
      return lines;
    }
    case 'text':
      return [b.text];
    case 'warning':
      return [`> **⚠ ${b.text}**`];
    case 'chart':
      return [];
  }
}
