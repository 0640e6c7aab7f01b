/**
 * The HTML report: escaping, the figure check and the page's self-containment as strings; then
 * the page as a browser sees it — headless Chromium driven over the DevTools protocol on a pipe
 * (`--remote-debugging-pipe`: commands on fd 3, replies and events on fd 4, NUL-terminated JSON),
 * which needs no npm package. The browser records every console message, exception, log entry
 * (CSP violations, failed loads), request and dialog; the test asserts there are none but the page.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frontierChart, heatmapChart } from '../src/plot/charts.js';
import { renderSvg } from '../src/plot/render.js';
import { inlineSvg, ReportError, reportHtml, type Report } from '../src/report/html.js';
import { CHROMIUM, systemIt } from './helpers/system.js';
import { parseSweepSpec, planSweep } from '../src/sweep/spec.js';
import { type RunResult, summarise } from '../src/sweep/summary.js';
import { sweepReport } from '../src/sweep/figures.js';

/** The report of a sweep of 3 schedules × 3 seeds on 2 profiles, from made-up results (the page is what is tested, not training). */
async function syntheticSweepReport(): Promise<Report> {
  const plan = planSweep(parseSweepSpec({ schedules: ['static:4', 'static:8', 'cpt:3-8'], seeds: 3, profiles: ['bit-fusion-45nm', 'gpu-a100'], epochs: 2 }, 'sweep'));
  const results: RunResult[] = plan.profiles.flatMap((profile, p) =>
    plan.runs.map((r, k) => ({
      name: r.name, config: r.config, profile, status: 'completed' as const, testAccuracy: 0.9 + 0.01 * (k % 3) + 0.02 * Math.floor(k / 3), bestTestAccuracy: null,
      robustBmax1: 0.9, robustBmax2: 0.85, robustBmin: r.config.schedule === 'cpt:3-8' ? 0.88 : null,
      energyJ: (1 + Math.floor(k / 3)) * (p + 1) * 1e-3, latencyS: 1e-3, bitops: 1e9, memoryEnergyJ: 1e-4,
      energySavingPct: r.config.schedule === 'cpt:3-8' ? 6 : 0, latencySavingPct: 0, bitopsSavingPct: 0, wallS: 0.5, steps: 44,
    })),
  );
  return sweepReport(plan, summarise(results), results, renderSvg, { axis: 'energy', created: new Date('2026-01-02T03:04:05Z'), source: 'synthetic' });
}

const HOSTILE = `<script>alert(1)</script>`;
const AMP_QUOTES = `A & B "double" 'single'`;
/** Short enough for an axis label (Vega cuts long ones). */
const SHORT_HOSTILE = `<i>x</i>&`;

async function makeReport(): Promise<Report> {
  const frontier = await renderSvg(
    frontierChart(
      [
        { label: 'static:8', series: 'step LR', x: 10, xLow: 9.5, xHigh: 10.5, y: 8.1, yLow: 7.8, yHigh: 8.4, onFront: true },
        { label: 'cpt:3-8', series: 'step LR', x: 6.2, xLow: 6, xHigh: 6.4, y: 8.6, yLow: 8.2, yHigh: 9, onFront: true },
        { label: `tri:3-8 <b>x</b> & "q"`, series: 'cosine LR', x: 6.8, y: 9.4, yLow: 9, yHigh: 9.8, onFront: false },
        { label: 'static:4', series: 'cosine LR', x: 3.1, y: 14.2, onFront: true },
      ],
      { xTitle: 'energy per run (J)', yTitle: 'test error (%), mean ± std over 3 seeds', seriesTitle: 'LR policy' },
    ),
  );
  const heatmap = await renderSvg(
    heatmapChart(
      [
        { row: 'static:8', column: 'eyeriss', value: 0 },
        { row: 'cpt:3-8', column: 'eyeriss', value: 41.2 },
        { row: 'cpt:3-8', column: 'bitfusion', value: 55.7 },
        { row: SHORT_HOSTILE, column: 'bitfusion', value: 20 },
      ],
      { rowTitle: 'schedule', columnTitle: 'profile', valueTitle: 'energy saving (%)' },
    ),
  );
  return {
    title: `Sweep ${HOSTILE}`,
    summary: `Schedules × LR policies on fashion-mnist.\n\nSecond paragraph: ${AMP_QUOTES}.`,
    created: new Date(Date.UTC(2025, 4, 6, 7, 8, 9)),
    sections: [
      {
        title: 'Results',
        text: `Mean over seeds. ${HOSTILE}`,
        table: {
          caption: `caption ${AMP_QUOTES}`,
          columns: ['schedule', 'steps', 'accuracy (%)', 'energy'],
          rows: [
            [HOSTILE, 12345, 91.234, '1.23 kJ'],
            [AMP_QUOTES, 640, null, '\u202eevil'],
          ],
          align: ['left', 'right', 'right', 'right'],
        },
      },
      { title: 'Frontier', figures: [{ svg: frontier, caption: 'error vs energy' }] },
      { title: 'Saving', figures: [{ svg: heatmap }, { svg: heatmap, caption: 'the same again (ids must not collide)' }] },
    ],
  };
}

describe('reportHtml (strings)', () => {
  let html = '';
  beforeAll(async () => {
    html = reportHtml(await makeReport());
  });

  it('escapes every text from data; no script, no external resource', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>');
    expect(html).toContain('<title>Sweep &lt;script&gt;alert(1)&lt;/script&gt;</title>');
    expect(html).toContain('<td>A &amp; B &quot;double&quot; &#39;single&#39;</td>');
    expect(html).toContain('<p>Second paragraph: A &amp; B &quot;double&quot; &#39;single&#39;.</p>');
    expect(html).toContain('<td class="num">\\u202eevil</td>'); // bidi override made visible
    expect(html).toContain('tri:3-8 &lt;b&gt;x&lt;/b&gt; &amp; "q"'); // Vega's own escaping in the figure
    expect(html).not.toMatch(/<b>|\ssrc=|<link|@import|<img|<iframe|<object/i);
    expect(html.match(/url\([^)]*\)/g)?.every((u) => u.startsWith('url(#'))).toBe(true);
    expect(html.match(/href="[^"]*"/g)?.every((h) => h.startsWith('href="#'))).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
    expect(html).toContain('<time datetime="2025-05-06T07:08:09.000Z">2025-05-06 07:08 UTC</time>');
  });

  it('numbers right-aligned: integers in full, others with three significant digits, missing as —', () => {
    expect(html).toContain('<th scope="col" class="num">steps</th>');
    expect(html).toContain('<td class="num">12345</td><td class="num">91.2</td><td class="num">1.23 kJ</td>');
    expect(html).toContain('<td class="num">640</td><td class="num">—</td>');
    const plain = reportHtml({ title: 't', created: 'today', sections: [{ title: 's', table: { columns: ['a', 'n'], rows: [['x', 1.5], ['y', null]] } }] });
    expect(plain).toContain('<th scope="col">a</th><th scope="col" class="num">n</th>');
    expect(plain).toContain('<tr><td>y</td><td class="num">—</td></tr>');
  });

  it('figures: ids prefixed per figure, so two copies of one SVG do not share a gradient', () => {
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!).filter((id) => id.includes('gradient'));
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(html).toContain(`url(#${id})`);
  });

  it('refuses what is not one of our SVGs, and table rows of the wrong length', () => {
    const bad: [string, RegExp][] = [
      ['<div>x</div>', /does not start with <svg/],
      ['<svg><rect/></svg><script>alert(1)</script>', /does not end with <\/svg>/],
      ['<svg></svg><p>x</p><svg></svg>', /element <p> not allowed/],
      ['<svg></svg><svg></svg>', /more than one root element/],
      ['<svg><script>alert(1)</script></svg>', /element <script> not allowed/],
      ['<svg><foreignObject><div/></foreignObject></svg>', /element <foreignObject> not allowed/],
      ['<svg onload="alert(1)"></svg>', /event handler onload/],
      ['<svg><rect title="a>b" onclick="x"/></svg>', /event handler onclick/],
      ['<svg><a href="https://example.com"><rect/></a></svg>', /element <a> not allowed/],
      ['<svg><pattern xlink:href="http://x/y"/></svg>', /xlink:href outside the figure/],
      ['<svg><rect style="fill: url(http://x/y.png)"/></svg>', /url\(\) outside the figure/],
      ['<svg><!-- --></svg>', /element <!--> not allowed/],
      ['<svg><text>a < b</text></svg>', /not allowed|not a tag/],
      ['<svg><g></svg>', /unbalanced/],
    ];
    for (const [svg, why] of bad) expect(() => inlineSvg(svg, 'f-', 'figure 1'), svg).toThrow(why);
    expect(() => inlineSvg('<svg><g><text>a &lt; b</text></g></svg>', 'f-')).not.toThrow();
    expect(() => reportHtml({ title: 't', created: 'now', sections: [{ title: 's', figures: [{ svg: '<svg onload="x"></svg>' }] }] })).toThrow(
      /section 1 \("s"\): figure 1: not an SVG from renderSvg: event handler onload/,
    );
    expect(() => reportHtml({ title: 't', created: 'now', sections: [{ title: 's', table: { columns: ['a', 'b'], rows: [['x']] } }] })).toThrow(ReportError);
  });
});

// ---------------------------------------------------------------------------------------------
// The browser: Chromium over the DevTools protocol on a pipe.

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

/** A DevTools protocol client over Chromium's `--remote-debugging-pipe` (fd 3 in, fd 4 out). */
class Cdp {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void; method: string }>();
  private readonly listeners = new Set<(m: CdpMessage) => void>();
  private chunks: Buffer[] = [];
  readonly events: CdpMessage[] = [];

  constructor(private readonly input: Writable, output: Readable) {
    output.on('data', (chunk: Buffer) => {
      let at = chunk.indexOf(0);
      while (at >= 0) {
        this.chunks.push(chunk.subarray(0, at));
        this.dispatch(JSON.parse(Buffer.concat(this.chunks).toString('utf8')) as CdpMessage);
        this.chunks = [];
        chunk = chunk.subarray(at + 1);
        at = chunk.indexOf(0);
      }
      if (chunk.length > 0) this.chunks.push(chunk);
    });
  }

  private dispatch(message: CdpMessage): void {
    if (message.id !== undefined) {
      const call = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) call?.reject(new Error(`${call.method}: ${message.error.message}`));
      else call?.resolve(message.result ?? {});
      return;
    }
    this.events.push(message);
    for (const listen of this.listeners) listen(message);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  }

  /** The next event `method` (of `sessionId`), or an error after `timeoutMs`. */
  waitFor(method: string, sessionId: string, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listen);
        reject(new Error(`no ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      const listen = (m: CdpMessage) => {
        if (m.method === method && m.sessionId === sessionId) {
          clearTimeout(timer);
          this.listeners.delete(listen);
          resolve(m.params ?? {});
        }
      };
      this.listeners.add(listen);
    });
  }

  /** Reject every call still waiting (the browser is gone). */
  failAll(why: string): void {
    for (const call of this.pending.values()) call.reject(new Error(`${call.method}: ${why}`));
    this.pending.clear();
  }
}

/** RGBA pixels of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium's screenshots are). */
function decodePng(png: Buffer): { width: number; height: number; rgba: Uint8Array } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = data.subarray(8);
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) throw new Error(`PNG: depth ${depth}, colour type ${colour}, interlace ${interlace} not supported`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? pixels[y * stride + i - channels]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + i]! : 0;
      const c = i >= channels && y > 0 ? pixels[(y - 1) * stride + i - channels]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter];
      if (predictor === undefined) throw new Error(`PNG: filter ${filter}`);
      pixels[y * stride + i] = (line[i]! + predictor) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    for (let k = 0; k < 3; k++) rgba[4 * p + k] = pixels[channels * p + k]!;
    rgba[4 * p + 3] = channels === 4 ? pixels[channels * p + 3]! : 255;
  }
  return { width, height, rgba };
}

/** How much of a picture is drawn: distinct colours, share of non-white pixels, share of saturated ones. */
function inkOf(png: Buffer): { width: number; height: number; colours: number; nonWhite: number; saturated: number } {
  const { width, height, rgba } = decodePng(png);
  const colours = new Set<number>();
  let nonWhite = 0;
  let saturated = 0;
  for (let p = 0; p < width * height; p++) {
    const [r, g, b] = [rgba[4 * p]!, rgba[4 * p + 1]!, rgba[4 * p + 2]!];
    colours.add((r << 16) | (g << 8) | b);
    if (r < 245 || g < 245 || b < 245) nonWhite++;
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) saturated++;
  }
  const n = width * height;
  return { width, height, colours: colours.size, nonWhite: nonWhite / n, saturated: saturated / n };
}

interface PageState {
  title: string;
  scripts: number;
  injected: number;
  headerText: string;
  cells: string[];
  paragraphs: string[];
  figures: { x: number; y: number; width: number; height: number; text: string }[];
  documentHeight: number;
}

/** What the page looks like from inside: its DOM, read after load. */
const PAGE_STATE = `(() => ({
  title: document.title,
  scripts: document.scripts.length,
  injected: document.querySelectorAll('b, i, img, iframe, object, embed, link, foreignObject').length,
  headerText: document.querySelector('header').textContent,
  cells: [...document.querySelectorAll('td')].map((td) => td.textContent),
  paragraphs: [...document.querySelectorAll('p')].map((p) => p.textContent),
  figures: [...document.querySelectorAll('figure svg')].map((svg) => {
    const r = svg.getBoundingClientRect();
    return { x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height, text: svg.textContent };
  }),
  documentHeight: document.documentElement.scrollHeight,
}))()`;

/** Everything a page's events say went wrong: console messages, exceptions, log errors, failed loads, requests other than the page, dialogs. */
function pageProblems(events: readonly CdpMessage[], pageUrl: string): string[] {
  return events.flatMap((e) => {
    const p = e.params ?? {};
    switch (e.method) {
      case 'Runtime.consoleAPICalled':
        return [`console.${String(p.type)}: ${JSON.stringify(p.args)}`];
      case 'Runtime.exceptionThrown':
        return [`exception: ${JSON.stringify(p.exceptionDetails)}`];
      case 'Log.entryAdded': {
        const entry = p.entry as { level: string; source: string; text: string; url?: string };
        return entry.level === 'error' || entry.level === 'warning' ? [`log ${entry.level} (${entry.source}): ${entry.text} ${entry.url ?? ''}`] : [];
      }
      case 'Network.loadingFailed':
        return [`load failed: ${JSON.stringify(p)}`];
      case 'Network.requestWillBeSent': {
        const url = (p.request as { url: string }).url;
        return url === pageUrl ? [] : [`request: ${url}`];
      }
      case 'Page.javascriptDialogOpening':
        return [`dialog: ${String(p.type)} ${String(p.message)}`];
      default:
        return [];
    }
  });
}

describe('the report in a browser', () => {
  const dirs: string[] = [];
  let browser: ChildProcess | undefined;
  let stderr = '';
  let cdp: Cdp | undefined;
  let session = '';
  let pageUrl = '';
  let state: PageState | undefined;
  const timings: Record<string, number> = {};

  afterAll(async () => {
    if (browser?.pid !== undefined) {
      if (browser.exitCode === null && browser.signalCode === null) {
        const exited = new Promise<void>((resolve) => browser!.once('exit', () => resolve()));
        await Promise.race([cdp?.send('Browser.close').catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      }
      // Whatever is left of the browser's own process group (renderer, GPU, zygote), by its id.
      try {
        process.kill(-browser.pid, 'SIGKILL');
      } catch {
        // all gone
      }
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  /** Start Chromium, open the report and read its DOM (once, for the tests below). */
  async function open(): Promise<{ cdp: Cdp; state: PageState }> {
    if (cdp && state) return { cdp, state };
    let t = performance.now();
    const dir = mkdtempSync(join(tmpdir(), 'bitcycle-report-'));
    dirs.push(dir);
    const file = join(dir, 'report.html');
    writeFileSync(file, reportHtml(await makeReport()));
    pageUrl = pathToFileURL(file).href;
    timings.build = performance.now() - t;

    t = performance.now();
    const args = [
      '--headless',
      '--remote-debugging-pipe',
      `--user-data-dir=${join(dir, 'profile')}`,
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-extensions',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-sync',
      '--no-first-run',
      '--no-default-browser-check',
      '--hide-scrollbars',
      '--force-device-scale-factor=1',
      'about:blank',
    ];
    browser = spawn('chromium', args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true });
    browser.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-4000);
    });
    const client = new Cdp(browser.stdio[3] as Writable, browser.stdio[4] as Readable);
    browser.once('exit', (code, signal) => client.failAll(`chromium exited (${code ?? signal}); stderr: ${stderr}`));
    cdp = client;

    const { targetId } = await client.send('Target.createTarget', { url: 'about:blank' });
    ({ sessionId: session } = (await client.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string });
    await Promise.all(['Runtime.enable', 'Log.enable', 'Page.enable', 'Network.enable'].map((m) => client.send(m, {}, session)));
    await client.send('Emulation.setDeviceMetricsOverride', { width: 1100, height: 900, deviceScaleFactor: 1, mobile: false }, session);
    timings.launch = performance.now() - t;

    t = performance.now();
    const loaded = client.waitFor('Page.loadEventFired', session, 8000);
    const nav = await client.send('Page.navigate', { url: pageUrl }, session);
    expect(nav.errorText, 'navigation').toBeUndefined();
    await loaded;
    const evaluated = await client.send('Runtime.evaluate', { expression: PAGE_STATE, returnByValue: true }, session);
    state = (evaluated.result as { value: PageState }).value;
    timings.load = performance.now() - t;
    return { cdp: client, state };
  }

  const ofPage = (m: CdpMessage) => m.sessionId === session;

  systemIt(
    CHROMIUM,
    'loads with no console message, exception, log error, dialog, or request other than the page itself',
    async () => {
      const { cdp } = await open();
      const events = cdp.events.filter(ofPage);
      const problems = pageProblems(events, pageUrl);
      expect(problems).toEqual([]);
      // the page itself was requested and loaded (so the listeners were live)
      expect(events.some((e) => e.method === 'Network.requestWillBeSent' && (e.params!.request as { url: string }).url === pageUrl)).toBe(true);
      expect(events.some((e) => e.method === 'Network.loadingFinished')).toBe(true);
    },
    20_000,
  );

  systemIt(
    CHROMIUM,
    'hostile text is shown as text: no script element, no injected markup, the strings as they were',
    async () => {
      const { state } = await open();
      expect(state.scripts).toBe(0);
      expect(state.injected).toBe(0);
      expect(state.title).toBe(`Sweep ${HOSTILE}`);
      expect(state.headerText).toContain(`Sweep ${HOSTILE}`);
      expect(state.headerText).toContain('2025-05-06 07:08 UTC');
      expect(state.cells).toEqual([HOSTILE, '12345', '91.2', '1.23 kJ', AMP_QUOTES, '640', '—', '\\u202eevil']);
      expect(state.paragraphs).toContain(`Second paragraph: ${AMP_QUOTES}.`);
      expect(state.paragraphs).toContain(`Mean over seeds. ${HOSTILE}`);
      expect(state.figures).toHaveLength(3);
      expect(state.figures[0]!.text).toContain(`tri:3-8 <b>x</b> & "q"`);
      expect(state.figures[1]!.text).toContain(SHORT_HOSTILE);
    },
    20_000,
  );

  systemIt(
    CHROMIUM,
    'screenshots: the page and each figure are drawn (many colours, ink, the charts\u2019 colours)',
    async () => {
      const { cdp, state } = await open();
      const t = performance.now();
      const shot = async (clip: { x: number; y: number; width: number; height: number }) => {
        const { data } = await cdp.send('Page.captureScreenshot', { format: 'png', clip: { ...clip, scale: 1 }, captureBeyondViewport: true }, session);
        return inkOf(Buffer.from(data as string, 'base64'));
      };
      const page = await shot({ x: 0, y: 0, width: 1100, height: Math.min(state.documentHeight, 4000) });
      expect(page.width).toBe(1100);
      expect(page.colours).toBeGreaterThan(200);
      expect(page.nonWhite).toBeGreaterThan(0.03);
      for (const [i, f] of state.figures.entries()) {
        expect(f.width, `figure ${i + 1} width`).toBeGreaterThan(300);
        expect(f.height, `figure ${i + 1} height`).toBeGreaterThan(100);
        const ink = await shot({ x: f.x, y: f.y, width: f.width, height: f.height });
        expect(ink.colours, `figure ${i + 1} colours`).toBeGreaterThan(50);
        expect(ink.nonWhite, `figure ${i + 1} ink`).toBeGreaterThan(0.03);
        expect(ink.saturated, `figure ${i + 1} colour`).toBeGreaterThan(0.0005); // series colours / the heatmap's blues
      }
      timings.screenshots = performance.now() - t;
      console.info(`report browser test (ms): ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    },
    20_000,
  );

  systemIt(
    CHROMIUM,
    'a sweep\u2019s report (the page `bitcycle report` writes: summary, frontiers, heatmaps, every run) loads cleanly and is drawn',
    async () => {
      const { cdp } = await open();
      const dir = mkdtempSync(join(tmpdir(), 'bitcycle-sweep-report-'));
      dirs.push(dir);
      const file = join(dir, 'report.html');
      writeFileSync(file, reportHtml(await syntheticSweepReport()));
      const url = pathToFileURL(file).href;
      const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
      await Promise.all(['Runtime.enable', 'Log.enable', 'Page.enable', 'Network.enable'].map((m) => cdp.send(m, {}, sessionId)));
      await cdp.send('Emulation.setDeviceMetricsOverride', { width: 1100, height: 900, deviceScaleFactor: 1, mobile: false }, sessionId);
      const loaded = cdp.waitFor('Page.loadEventFired', sessionId, 8000);
      await cdp.send('Page.navigate', { url }, sessionId);
      await loaded;
      const page = ((await cdp.send('Runtime.evaluate', { expression: PAGE_STATE, returnByValue: true }, sessionId)).result as { value: PageState }).value;
      expect(pageProblems(cdp.events.filter((e) => e.sessionId === sessionId), url)).toEqual([]);
      expect(page.scripts).toBe(0);
      // two groups' frontiers (one per profile), the accuracy and savings heatmaps, robustness
      expect(page.figures.length).toBe(5);
      expect(page.cells).toContain('cpt:3-8 · g8 · constant');
      for (const [i, f] of page.figures.entries()) {
        const { data } = await cdp.send('Page.captureScreenshot', { format: 'png', clip: { x: f.x, y: f.y, width: f.width, height: f.height, scale: 1 }, captureBeyondViewport: true }, sessionId);
        const ink = inkOf(Buffer.from(data as string, 'base64'));
        expect(ink.nonWhite, `figure ${i + 1} ink`).toBeGreaterThan(0.03);
        expect(ink.saturated, `figure ${i + 1} colour`).toBeGreaterThan(0.0005);
      }
    },
    30_000,
  );
});
