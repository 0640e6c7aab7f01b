/**
 * Vega-Lite spec → SVG (Vega's own SVG renderer, headless, no native code) → PNG (resvg). The PNG
 * is drawn with the DejaVu Sans files of the `dejavu-fonts-ttf` package, never the system's fonts,
 * so a figure looks the same on every machine (and has text on machines without fonts).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'];

function fontFiles(): string[] {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return FONT_FILES.map((f) => join(dir, f));
}

/** PNG bytes of an SVG at `scale` × its size (2: sharp on high-density screens and in print). */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js');
  const png = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: false, fontFiles: fontFiles(), defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    background: 'white',
  })
    .render()
    .asPng();
  return new Uint8Array(png);
}

/** The figure as the bytes of `format`. */
export async function renderFigure(spec: TopLevelSpec, format: 'svg' | 'png'): Promise<Uint8Array> {
  const svg = await renderSvg(spec);
  return format === 'svg' ? new TextEncoder().encode(svg) : svgToPng(svg);
}
