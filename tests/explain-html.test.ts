// `looped explain --html`: the page is generated in-process and opened in Debian's chromium
// (headless, driven by playwright-core, which never downloads a browser of its own). Without
// /usr/bin/chromium the browser tests skip; CI installs it (apt-get install -y chromium).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainCommand } from '../cli/commands/explain.ts';
import { axisOf, escapeHtml, heatmapOf, pageData, renderHtml, scriptJson } from '../cli/explain/html.ts';
import { makeOut } from '../cli/output.ts';
import { constructionById } from '../proofs/registry.ts';
import { resolveParams } from '../proofs/construction.ts';
import { LabeledMatrix } from '../simulators/matrix.ts';
import { space } from '../simulators/space.ts';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`explain-html: ${CHROMIUM} is absent, so the browser tests are skipped (install it: apt-get install -y chromium)`);

const GC = ['group-composition', '--param', 'group=S3', '--param', 'n=4'];
const GC_INPUT = '[[1,0,2],[0,2,1],[1,2,0],[1,0,2]]';
const NASTY = `</script><img src=x onerror="window.__pwned=1"> & "quotes" 'too'`;

function sink() {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

const work = mkdtempSync(join(tmpdir(), 'looped-html-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('explain --html: the page as text', () => {
  it('escapes JSON for a script block and HTML text', () => {
    const json = scriptJson({ a: NASTY, m: Infinity, line: '\u2028' });
    expect(json).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(json)).toEqual({ a: NASTY, m: 'Infinity', line: '\u2028' });
    expect(escapeHtml(NASTY)).not.toMatch(/[<>"']/);
  });

  it('downsamples a long axis by blocks within its subspaces, and says so', () => {
    const rows = space({ a: 150, b: 3 });
    const cols = space({ x: 4 });
    const m = new LabeledMatrix('test', rows, cols);
    m.setAt(7, 1, -5).setAt(151, 2, 2);
    const h = heatmapOf(m, 'M', 'test');
    expect(axisOf(rows).block).toBeGreaterThan(1);
    expect(h.rows.labels.length).toBeLessThanOrEqual(96);
    expect(h.rows.groups.map((g) => g.name)).toEqual(['a', 'b']);
    expect(h.cols.labels.length).toBe(4);
    expect(h.downsampled).toMatch(/rows in blocks of up to \d+ directions within each subspace \(153 → \d+\)/);
    expect(h.values.flat().filter((v) => v !== 0).sort()).toEqual([-5, 2]);
    expect(heatmapOf(new LabeledMatrix('s', cols, cols), 'S', 'test').downsampled).toBeNull();
  });

  it('draws long runs in blocks of positions: patterns and residual rows, each saying so', async () => {
    const c = constructionById('lemma-b9-shift');
    const input = JSON.stringify(Array.from({ length: 300 }, (_, i) => i % 4));
    const data = await pageData(c, resolveParams(c, { n: '300' }), { samples: 0, seed: 42, inputText: input });
    expect(data.verify).toBeNull();
    const loop1 = data.run.loops[1];
    expect(loop1.patterns[0].rows.labels.length).toBeLessThanOrEqual(96);
    expect(loop1.patterns[0].downsampled).toMatch(/^downsampled: rows in blocks of up to 4 \(300 → 75\), columns in blocks/);
    expect(loop1.residual.rows.labels.length).toBeLessThanOrEqual(192);
    expect(loop1.residual.downsampled).toMatch(/rows in blocks/);
    // Every residual direction still drawn, with its subspaces.
    expect(loop1.residual.cols.labels.length).toBe(data.model.width);
    expect(loop1.residual.cols.groups.map((g) => g.name)).toEqual(data.residual.map((p) => p.name));
  });

  it('writes one self-contained file: no external URL, the data as JSON, the verification summary', async () => {
    const file = join(work, 'cli.html');
    const out = sink();
    const code = await explainCommand([...GC, '--input', GC_INPUT, '--html', file, '--samples', '20'], makeOut(false, out.stream, sink().stream));
    expect(code).toBe(0);
    expect(out.text()).toContain(`wrote ${file}: group-composition`);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/);
    const data = JSON.parse(/<script type="application\/json" id="looped-data">([^]*?)<\/script>/.exec(html)![1]) as {
      construction: { id: string };
      verify: { ok: boolean; checks: unknown[] };
      verifyOptions: { samples: number };
      run: { source: string; loops: { patterns: unknown[] }[] };
      matrices: unknown[];
    };
    expect(data.construction.id).toBe('group-composition');
    expect(data.verify.ok).toBe(true);
    expect(data.verifyOptions.samples).toBe(20);
    expect(data.run.source).toBe('--input');
    expect(data.run.loops.length).toBeGreaterThan(1);
    // Two heads in every loop after the embedding.
    expect(data.run.loops.slice(1).every((l) => l.patterns.length === 2)).toBe(true);
    // embed, pos_embed, unembed + 2 heads × 4 + one MLP × 4.
    expect(data.matrices.length).toBe(15);
  });
});

describe.skipIf(!haveChromium)('explain --html in chromium', () => {
  let browser: BrowserContext;
  // A fresh profile each run: playwright passes it to chromium as --user-data-dir.
  const profile = mkdtempSync(join(tmpdir(), 'looped-chromium-'));
  beforeAll(async () => {
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 1000 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 20_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  async function open(file: string) {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) problems.push(`network: ${r.url()}`);
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
    return { page, problems };
  }

  it('loads without errors, shows the construction, and stepping through loops changes the residual view', async () => {
    const file = join(work, 'gc.html');
    // No --input: one sample of the construction's arbitrary (seed 42).
    const code = await explainCommand([...GC, '--html', file], makeOut(false, sink().stream, sink().stream));
    expect(code).toBe(0);
    const { page, problems } = await open(file);
    await expect(page.locator('#construction').textContent()).resolves.toBe('group-composition');
    await expect(page.locator('#verify-summary').textContent()).resolves.toMatch(/every check held/);
    expect(await page.locator('figure[data-matrix="stages.0.blocks.0.attn.first.W_Q"] svg').count()).toBe(1);

    const label0 = await page.locator('#loop-label').textContent();
    const residual0 = await page.locator('#residual').innerHTML();
    const decoded0 = await page.locator('#decoded').textContent();
    expect(label0).toMatch(/embedding/);
    expect(await page.locator('#patterns figure').count()).toBe(0);

    await page.click('#next');
    const label1 = await page.locator('#loop-label').textContent();
    expect(label1).toMatch(/^loop 1 of \d+$/);
    expect(await page.locator('#residual').innerHTML()).not.toBe(residual0);
    expect(await page.locator('#decoded').textContent()).not.toBe(decoded0);
    // Both heads' patterns for loop 1.
    expect(await page.locator('#patterns figure').count()).toBe(2);
    const patterns1 = await page.locator('#patterns').innerHTML();

    // The slider moves to the last loop; prev steps back.
    const last = Number(await page.locator('#loop-slider').getAttribute('max'));
    await page.locator('#loop-slider').fill(String(last));
    await expect(page.locator('#loop-label').textContent()).resolves.toBe(`loop ${last} of ${last}`);
    expect(await page.locator('#patterns').innerHTML()).not.toBe(patterns1);
    await page.click('#prev');
    await expect(page.locator('#loop-label').textContent()).resolves.toBe(last - 1 === 0 ? label0 : `loop ${last - 1} of ${last}`);

    await page.click('#next');
    mkdirSync('artifacts', { recursive: true });
    // The top of the page (header, verification, layout, the run at the last loop), and the whole page.
    const height = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollHeight: number } } }).document.documentElement.scrollHeight);
    await page.screenshot({ path: 'artifacts/explain.png', fullPage: true, clip: { x: 0, y: 0, width: 1280, height: Math.min(2200, height) } });
    await page.screenshot({ path: 'artifacts/explain-full.png', fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 30_000);

  it('shows labels with < > & and quotes as text, running nothing they contain', async () => {
    const c = constructionById('lemma-b9-shift');
    const data = await pageData(c, resolveParams(c, { n: '5' }), { samples: 0, seed: 42 });
    data.residual[0].describe = NASTY;
    data.construction.title = NASTY;
    data.run.loops[0].residual.cols.labels[0] = NASTY;
    const file = join(work, 'nasty.html');
    writeFileSync(file, renderHtml(data));
    const { page, problems } = await open(file);
    expect(await page.locator('main').textContent()).toContain(NASTY);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(problems).toEqual([]);
    await page.close();
  }, 20_000);
});
