/**
 * A report as one self-contained HTML page: title, a header (what, when, by what), then sections
 * of text, tables and figures (inline SVG from `renderSvg`). Pure: a string from data.
 *
 * Self-contained means no request at all: the CSS is inline, there is no script and no font or
 * image by URL, and the page's Content-Security-Policy (`default-src 'none'`) makes the browser
 * refuse any that slipped in. Every text from data is HTML-escaped (and `sanitize`d: control and
 * bidi characters made visible). A figure is inlined only if it looks like what our renderer
 * writes: one `<svg>` element made of drawing elements only, no event handlers, no reference out
 * of the figure; its ids are prefixed per figure, since Vega numbers gradients and clips per
 * process and two figures could otherwise share an id.
 */
import { BitcycleError } from '../errors.js';
import { fmtNum } from '../format.js';
import { sanitize } from '../util/text.js';
import { VERSION } from '../version.js';

export type ReportCell = string | number | null;

export interface ReportTable {
  columns: readonly string[];
  /** One entry per column. Numbers are right-aligned (integers in full, others `fmtNum`); null: "—". */
  rows: readonly (readonly ReportCell[])[];
  caption?: string;
  /** Per column; default: right for a column of numbers (and nulls), left otherwise. */
  align?: readonly ('left' | 'right')[];
}

export interface ReportFigure {
  /** An SVG string from `renderSvg` (src/plot/render.ts). */
  svg: string;
  caption?: string;
}

export interface ReportSection {
  title: string;
  /** Paragraphs, separated by blank lines. */
  text?: string;
  table?: ReportTable;
  figures?: readonly ReportFigure[];
}

export interface Report {
  title: string;
  /** What was run and compared, a sentence or two. */
  summary?: string;
  /** When the report was made; passed in, so the page is a function of its input. */
  created: Date | string;
  /** Default `bitcycle <version>`. */
  generator?: string;
  sections: readonly ReportSection[];
}

/** Report input that cannot be written: a table row of the wrong length, a figure that is not our SVG. */
export class ReportError extends BitcycleError {}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Data text on one line: control/bidi characters visible (`sanitize`), then HTML-escaped. */
const esc = (text: string): string => escapeHtml(sanitize(text));

/** Paragraphs (blank-line separated); line breaks inside one stay plain whitespace. */
function paragraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => `<p>${p.split('\n').map(esc).join('\n')}</p>`)
    .join('\n');
}

function cellText(cell: ReportCell): string {
  if (typeof cell === 'string') return esc(cell);
  if (cell !== null && Number.isSafeInteger(cell)) return String(cell);
  return fmtNum(cell);
}

function table(t: ReportTable, where: string): string {
  const n = t.columns.length;
  if (t.align && t.align.length !== n) throw new ReportError(`${where}: ${t.align.length} alignments for ${n} columns`);
  t.rows.forEach((row, i) => {
    if (row.length !== n) throw new ReportError(`${where}: row ${i + 1} has ${row.length} cells, the table ${n} columns`);
  });
  const numeric = t.columns.map((_, c) => t.rows.some((r) => typeof r[c] === 'number') && t.rows.every((r) => typeof r[c] !== 'string'));
  const right = (c: number, cell?: ReportCell) => (t.align ? t.align[c] === 'right' : numeric[c] || typeof cell === 'number');
  const cls = (on: boolean) => (on ? ' class="num"' : '');
  const head = t.columns.map((col, c) => `<th scope="col"${cls(right(c))}>${esc(col)}</th>`).join('');
  const body = t.rows.map((row) => `<tr>${row.map((cell, c) => `<td${cls(right(c, cell))}>${cellText(cell)}</td>`).join('')}</tr>`).join('\n');
  const caption = t.caption === undefined ? '' : `<caption>${esc(t.caption)}</caption>`;
  return `<div class="table"><table>${caption}\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table></div>`;
}

/** The elements Vega's SVG renderer writes; anything else (script, foreignObject, style, image, HTML) is refused. */
const SVG_ELEMENTS = new Set([
  'svg', 'g', 'path', 'rect', 'circle', 'ellipse', 'line', 'polyline', 'polygon', 'text', 'tspan',
  'defs', 'lineargradient', 'radialgradient', 'stop', 'clippath', 'pattern', 'title', 'desc',
]);

/**
 * The SVG, checked to be one drawing that cannot reach outside itself, with its ids prefixed by
 * `prefix`. Throws ReportError naming the figure and the first problem.
 */
export function inlineSvg(svg: string, prefix: string, where = 'figure'): string {
  const fail = (why: string): never => {
    throw new ReportError(`${where}: not an SVG from renderSvg: ${why}`);
  };
  const text = svg.trim();
  if (!text.startsWith('<svg')) fail('does not start with <svg');
  if (!text.endsWith('</svg>')) fail('does not end with </svg>');
  // Every "<" opens or closes an allowed element: no comments, CDATA, doctype, processing instructions, HTML.
  // (a quoted attribute value may hold ">", so the tag's end is found past quoted values)
  const tags = /<(\/?)([^\s/>]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;
  let depth = 0;
  let last = 0;
  let roots = 0;
  let match: RegExpExecArray | null;
  while ((match = tags.exec(text)) !== null) {
    if (text.slice(last, match.index).includes('<')) fail('a "<" that is not a tag');
    last = tags.lastIndex;
    const [, closing, name, rest] = match as unknown as [string, string, string, string];
    const lower = name.toLowerCase();
    if (!SVG_ELEMENTS.has(lower)) fail(`element <${name.slice(0, 40)}> not allowed`);
    if (closing) {
      depth--;
      continue;
    }
    if (depth === 0 && ++roots > 1) fail('more than one root element');
    if (lower === 'svg' && depth > 0) fail('a nested <svg>');
    const attrs = /([^\s=]+)\s*=\s*("[^"]*"|'[^']*')/g;
    let a: RegExpExecArray | null;
    while ((a = attrs.exec(rest)) !== null) {
      const attr = a[1]!.toLowerCase();
      const value = a[2]!.slice(1, -1);
      if (attr.startsWith('on')) fail(`event handler ${attr}`);
      if ((attr === 'href' || attr.endsWith(':href')) && !value.startsWith('#')) fail(`${attr} outside the figure`);
    }
    if (!rest.trimEnd().endsWith('/')) depth++;
  }
  if (text.slice(last).includes('<')) fail('a "<" that is not a tag');
  if (depth !== 0) fail('unbalanced elements');
  if (/url\(\s*(?!['"]?#)/i.test(text)) fail('url() outside the figure');
  const ids = new Set([...text.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!));
  if (ids.size === 0) return text;
  const ref = (id: string) => (ids.has(id) ? `${prefix}${id}` : id);
  return text
    .replace(/(\sid=")([^"]+)"/g, (_, start: string, id: string) => `${start}${ref(id)}"`)
    .replace(/url\((['"]?)#([^'")]+)\1\)/g, (_, q: string, id: string) => `url(${q}#${ref(id)}${q})`)
    .replace(/(href=")#([^"]+)"/g, (_, start: string, id: string) => `${start}#${ref(id)}"`);
}

function figure(f: ReportFigure, prefix: string, where: string): string {
  const caption = f.caption === undefined ? '' : `\n<figcaption>${esc(f.caption)}</figcaption>`;
  return `<figure>\n${inlineSvg(f.svg, prefix, where)}${caption}\n</figure>`;
}

function when(created: Date | string): string {
  if (typeof created === 'string') return esc(created);
  const iso = created.toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC</time>`;
}

const CSS = `
:root { color-scheme: light; --ink: #1d1d1f; --muted: #5f6368; --rule: #d9dce1; --band: #f5f6f8; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 64rem; padding: 2rem 1.5rem 4rem; color: var(--ink); background: #fff;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif; }
header { border-bottom: 2px solid var(--ink); margin-bottom: 1.5rem; padding-bottom: .75rem; }
h1 { font-size: 1.75rem; line-height: 1.2; margin: 0 0 .5rem; }
h2 { font-size: 1.3rem; margin: 2.25rem 0 .75rem; padding-bottom: .25rem; border-bottom: 1px solid var(--rule); }
.meta { color: var(--muted); font-size: .9rem; margin: .25rem 0 0; }
nav ol { margin: 0; padding-left: 1.25rem; font-size: .95rem; }
a { color: #1a5fb4; }
p { margin: .5rem 0 1rem; max-width: 46rem; }
.table { overflow-x: auto; margin: 1rem 0 1.5rem; }
table { border-collapse: collapse; font-size: .9rem; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; color: var(--muted); padding-bottom: .4rem; }
th, td { padding: .3rem .75rem; text-align: left; vertical-align: top; border-bottom: 1px solid var(--rule); }
thead th { border-bottom: 2px solid var(--ink); white-space: nowrap; }
tbody tr:nth-child(even) { background: var(--band); }
.num { text-align: right; white-space: nowrap; }
figure { margin: 1.25rem 0 2rem; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .9rem; margin-top: .4rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  nav, footer { display: none; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; }
  figure, tr, .table caption { break-inside: avoid; }
  tbody tr:nth-child(even) { background: none; }
  .table { overflow: visible; }
}
`.trim();

/** The report as one HTML document (UTF-8, no external resources, no script). */
export function reportHtml(report: Report): string {
  const generator = report.generator ?? `bitcycle ${VERSION}`;
  const nav =
    report.sections.length > 1
      ? `<nav aria-label="contents"><ol>${report.sections.map((s, i) => `<li><a href="#s${i + 1}">${esc(s.title)}</a></li>`).join('')}</ol></nav>`
      : '';
  const sections = report.sections.map((s, i) => {
    const where = `section ${i + 1} ("${sanitize(s.title)}")`;
    const parts = [`<h2>${esc(s.title)}</h2>`];
    if (s.text !== undefined) parts.push(paragraphs(s.text));
    if (s.table !== undefined) parts.push(table(s.table, `${where}: table`));
    (s.figures ?? []).forEach((f, j) => parts.push(figure(f, `s${i + 1}f${j + 1}-`, `${where}: figure ${j + 1}`)));
    return `<section id="s${i + 1}">\n${parts.join('\n')}\n</section>`;
  });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${escapeHtml(sanitize(generator))}">
<title>${esc(report.title)}</title>
<style>
${CSS}
</style>
</head>
<body>
<header>
<h1>${esc(report.title)}</h1>
${report.summary === undefined ? '' : paragraphs(report.summary)}
<p class="meta">${when(report.created)} · generated by ${esc(generator)}</p>
</header>
${nav}
<main>
${sections.join('\n')}
</main>
<footer>${esc(report.title)} · ${esc(generator)}</footer>
</body>
</html>
`;
}
