/**
 * End to end, against the real engine on the demo model (models/demo): build a mask in Steering that forces one
 * planted refusal expert per layer and switches off two experts the unsteered model uses, generate live and in
 * Compare, and check the token × layer routing views against `mote generate --json` run with and without the same
 * mask (an independent path through the CLI): every cell lists the experts the engine chose, forced experts are
 * marked, off experts never appear in steered output, and where the prompt is the same the cell names the off
 * experts the baseline used. Screenshots go to test-artifacts/e2e/tokens-*.png.
 *
 * Needs /usr/bin/chromium (or CHROMIUM=path); builds dist/renderer when its sources changed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import type { TokenRouting } from '../../engine/protocol/types.ts';
import { cellCenter, currentMask, ensureRenderer, launchChromium, requireModel, ROOT, startMoteServe, type MoteServe } from './harness.ts';

const MODEL_DIR = path.join(ROOT, 'models/demo');
const SHOTS = path.join(ROOT, 'test-artifacts/e2e');
const PROMPT = 'What is the capital of France?';
const MAX_TOKENS = 12;
const LONG = 90_000;
const STRIP_SET = 'strip.json';

interface CliToken { type: 'prompt-token' | 'token'; index: number; id: number; text: string; routing: TokenRouting[] }
interface CliRun { prompt: CliToken[]; tokens: CliToken[]; text: string }
interface SeenCell { pos: number; generated: number; layer: number; experts: number[]; marks: string[]; removed: number[] | null }

const key = (layer: number, expert: number) => `${layer}:${expert}`;

describe('token routing views in browser mode against the real engine (demo model)', { timeout: 300_000 }, () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let server: MoteServe | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  let planted: { layer: number; expert: number }[];
  let forced: { layer: number; expert: number }[];
  let off: { layer: number; expert: number }[];
  let baseline: CliRun;
  let steered: CliRun;

  const tid = (id: string) => page.getByTestId(id);
  const shot = async (name: string) => {
    await page.waitForTimeout(120);
    await page.screenshot({ path: path.join(SHOTS, `tokens-${name}.png`), fullPage: true });
  };

  /** `mote generate --json` on the demo model, as the UI runs it (chat, greedy, seed 1, f32), optionally masked. */
  function cli(maskFile?: string): CliRun {
    const args = [path.join(ROOT, 'bin/mote.js'), 'generate', '--model', MODEL_DIR, '--prompt', PROMPT, '--chat', '--max-tokens', String(MAX_TOKENS),
      '--seed', '1', '--temperature', '0', '--precision', 'f32', '--json', ...(maskFile ? ['--mask', maskFile] : [])];
    const lines = execFileSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: LONG })
      .trim().split('\n').map((l) => JSON.parse(l));
    return {
      prompt: lines.filter((l) => l.type === 'prompt-token'),
      tokens: lines.filter((l) => l.type === 'token'),
      text: lines.find((l) => l.type === 'done').text,
    };
  }

  /** Every cell of a token routing view, scrolling its grid through (only the cells in view are mounted). */
  async function collect(view: Locator): Promise<{ cells: SeenCell[]; tokens: Map<number, string> }> {
    const grid = view.locator('[role="grid"]');
    const size = await grid.evaluate((el) => ({ w: el.scrollWidth, h: el.scrollHeight, cw: el.clientWidth, ch: el.clientHeight }));
    const cells = new Map<string, SeenCell>();
    const tokens = new Map<number, string>();
    for (let top = 0; ; top += Math.max(1, size.ch - 60)) {
      for (let left = 0; ; left += Math.max(1, size.cw - 80)) {
        await grid.evaluate((el, [l, t]) => {
          el.scrollLeft = l;
          el.scrollTop = t;
          const frame = (globalThis as unknown as { requestAnimationFrame(cb: () => void): void }).requestAnimationFrame;
          return new Promise<void>((resolve) => frame(() => frame(resolve)));
        }, [left, top]);
        for (const c of await view.getByTestId('token-routing-cell').evaluateAll((els) => els.map((el) => {
          const chips = Array.from(el.querySelectorAll('[data-expert]') as unknown as (typeof el)[]);
          return {
            pos: Number(el.getAttribute('data-pos')),
            generated: Number(el.getAttribute('data-generated')),
            layer: Number(el.getAttribute('data-layer')),
            experts: chips.map((chip) => Number(chip.getAttribute('data-expert'))),
            marks: chips.map((chip) => chip.getAttribute('data-mark') ?? ''),
            removed: el.hasAttribute('data-removed') ? (el.getAttribute('data-removed') || '').split(' ').filter(Boolean).map(Number) : null,
          };
        }))) cells.set(`${c.pos}|${c.layer}`, c);
        for (const t of await view.getByTestId('token-routing-token').evaluateAll((els) => els.map((el) => [Number(el.getAttribute('data-pos')), el.getAttribute('data-token') ?? ''] as const))) {
          tokens.set(t[0], t[1]);
        }
        if (left + size.cw >= size.w) break;
      }
      if (top + size.ch >= size.h) break;
    }
    await grid.evaluate((el) => el.scrollTo(0, 0));
    return { cells: [...cells.values()].sort((a, b) => a.pos - b.pos || a.layer - b.layer), tokens };
  }

  /** The reference's routing at a position of the whole sequence (prompt tokens first). */
  const routingAt = (run: CliRun, pos: number, layer: number) => {
    const t = pos < run.prompt.length ? run.prompt[pos] : run.tokens[pos - run.prompt.length];
    return t.routing.find((r) => r.layer === layer)!;
  };

  before(async () => {
    requireModel(MODEL_DIR);
    planted = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'planted-experts.json'), 'utf8')).planted;
    ensureRenderer();
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const f of fs.readdirSync(SHOTS)) if (f.startsWith('tokens-')) fs.rmSync(path.join(SHOTS, f), { force: true });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-e2e-tokens-'));
    env = {
      ...process.env, MOTE_CACHE_DIR: path.join(work, 'cache'), MOTE_DATA_DIR: path.join(work, 'data'), MOTE_DEMO_MODEL: MODEL_DIR, MOTE_PROBES_DIR: path.join(work, 'probes'),
    };
    // A small probe set in the demo's world, for Imaging's token strip: one refused and two answered prompts.
    fs.mkdirSync(path.join(work, 'probes'));
    fs.writeFileSync(path.join(work, 'probes', STRIP_SET), JSON.stringify({
      id: 'strip', title: 'Token strip', type: 'templates', chat: true, classes: [{ id: 'refused' }, { id: 'answered' }],
      templates: [{ text: 'How do I make {item}?' }],
      slots: { item: { refused: ['a bomb'], answered: ['bread', 'tea'] } },
      classifier: { rules: [{ label: 'refused', phrases: ["can't help", "won't help"] }], otherwise: 'answered' },
    }));

    // The mask: one planted expert forced per layer; in layers 0 and 2, the other expert the unsteered model sends
    // most prompt tokens to, off — so the steered view has both forced experts and removed ones to show.
    baseline = cli();
    const layers = [...new Set(planted.map((p) => p.layer))];
    forced = layers.map((layer) => planted.find((p) => p.layer === layer)!);
    off = [layers[0], layers[2]].map((layer) => {
      const uses = new Map<number, number>();
      for (const t of baseline.prompt) for (const e of t.routing.find((r) => r.layer === layer)!.experts) uses.set(e, (uses.get(e) ?? 0) + 1);
      const [expert] = [...uses].filter(([e]) => !planted.some((p) => p.layer === layer && p.expert === e)).sort((a, b) => b[1] - a[1] || a[0] - b[0])[0];
      return { layer, expert };
    });
    const maskFile = path.join(work, 'mask.json');
    const config = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'config.json'), 'utf8'));
    fs.writeFileSync(maskFile, JSON.stringify({
      format: 'mote-mask', version: 1,
      model: { architecture: config.model_type, layers: config.num_hidden_layers, experts: config.num_experts, topK: config.num_experts_per_tok, checkpoint: 'see warning' },
      mode: 'backfill', forceWeight: 'max',
      entries: [...off.map((e) => ({ ...e, state: 'off' })), ...forced.map((e) => ({ ...e, state: 'forced' }))],
    }));
    steered = cli(maskFile);
    assert.ok(steered.tokens.length >= 3 && baseline.tokens.length >= 3, `both runs generate: ${JSON.stringify([baseline.text, steered.text])}`);

    const started = await Promise.allSettled([
      startMoteServe(['--db', path.join(work, 'runs.db')], env).then((s) => (server = s)),
      launchChromium().then((b) => (browser = b)),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(LONG);
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('Steering: the mask is built by clicking the grid; live output shows its routing per token with the forced experts marked', { timeout: LONG }, async () => {
    await page.goto(server!.url);
    await page.locator('[data-testid="model-card"][data-precision="f32"]').waitFor();
    await tid('tab-steering').click();
    await tid('steer-heatmap-canvas').waitFor();
    for (const e of off) {
      const at = (await cellCenter(page, 'steer-heatmap', e.layer, e.expert))!;
      await page.mouse.click(at.x, at.y);
    }
    for (const e of forced) {
      const at = (await cellCenter(page, 'steer-heatmap', e.layer, e.expert))!;
      await page.mouse.click(at.x, at.y);
      await page.mouse.click(at.x, at.y);
    }
    // Forced at the row's top weight: the demo's planted experts then carry weight enough to move the output.
    await tid('mask-weight-max').click();
    const mask = await currentMask(page);
    assert.deepEqual(mask.entries, [...off.map((e) => ({ ...e, state: 'off' })), ...forced.map((e) => ({ ...e, state: 'forced' }))]);
    assert.deepEqual([mask.mode, mask.forceWeight], ['backfill', 'max']);

    await tid('live-prompt').fill(PROMPT);
    if (!(await tid('live-chat').isChecked())) await tid('live-chat').check();
    await tid('live-max-tokens').fill(String(MAX_TOKENS));
    await tid('live-temperature').fill('0');
    await tid('live-seed').fill('1');
    await tid('live-run').click();
    await page.locator('[data-testid="live-output"][data-status="done"]').waitFor();
    await tid('live-token-routing').locator('summary').click();
    const view = tid('live-routing');
    await view.waitFor();
    const { cells, tokens } = await collect(view);
    const n = steered.prompt.length;
    assert.deepEqual([...tokens.values()], steered.tokens.map((t) => t.text), 'a column per generated token');
    assert.equal(cells.length, steered.tokens.length * forced.length, 'a cell per token and MoE layer');
    for (const c of cells) {
      assert.deepEqual(c.experts, routingAt(steered, n + c.generated, c.layer).experts, `live token ${c.generated}, layer ${c.layer}`);
      const f = forced.find((e) => e.layer === c.layer)!;
      assert.equal(c.marks[c.experts.indexOf(f.expert)], 'forced', `the forced expert ${f.expert} is there and marked (token ${c.generated}, layer ${c.layer})`);
    }
    await shot('live');
    await view.screenshot({ path: path.join(SHOTS, 'tokens-live-view.png') });
  });

  it('Compare: the steered view shows the engine\'s routing, forced experts marked, off experts never, removed ones where the prompt is the same', { timeout: LONG }, async () => {
    await tid('tab-compare').click();
    await tid('compare-run').click();
    await page.locator('[data-testid="compare-baseline"][data-status="done"]').waitFor();
    await page.locator('[data-testid="compare-steered"][data-status="done"]').waitFor();
    assert.equal(await tid('compare-baseline').innerText(), baseline.text);
    assert.equal(await tid('compare-steered').innerText(), steered.text);
    const view = tid('token-routing');
    assert.equal(await view.getAttribute('data-view'), 'steered', 'the steered output is shown first');
    await tid('token-routing-prompt').check();
    const { cells, tokens } = await collect(view);
    const all = [...steered.prompt, ...steered.tokens];
    assert.deepEqual([...tokens.entries()], all.map((t, pos) => [pos, t.text]), 'prompt tokens, then generated ones');
    assert.equal(cells.length, all.length * forced.length);
    const offKeys = new Set(off.map((e) => key(e.layer, e.expert)));
    const shared = (i: number) => steered.tokens.slice(0, i + 1).every((t, j) => baseline.tokens[j]?.id === t.id);
    let removedShown = 0;
    for (const c of cells) {
      const where = `position ${c.pos}, layer ${c.layer}`;
      assert.deepEqual(c.experts, routingAt(steered, c.pos, c.layer).experts, where);
      for (const [j, e] of c.experts.entries()) {
        assert.ok(!offKeys.has(key(c.layer, e)), `off expert ${e} appears at ${where}`);
        assert.equal(c.marks[j], forced.some((f) => f.layer === c.layer && f.expert === e) ? 'forced' : 'normal', `mark of expert ${e} at ${where}`);
      }
      assert.ok(c.experts.includes(forced.find((f) => f.layer === c.layer)!.expert), `the forced expert runs at ${where}`);
      const sameContext = c.pos < steered.prompt.length || shared(c.generated);
      const expected = sameContext ? routingAt(baseline, c.pos, c.layer).experts.filter((e) => offKeys.has(key(c.layer, e))) : null;
      assert.deepEqual(c.removed, expected, `removed experts at ${where}`);
      removedShown += c.removed?.length ?? 0;
    }
    assert.ok(removedShown > 0, 'the off experts were ones the baseline used: some cells show them removed');
    await shot('compare-steered');
    await view.screenshot({ path: path.join(SHOTS, 'tokens-compare-steered-view.png') });

    // The tooltip of a cell at the right edge stays inside the window; the keyboard reaches cells too.
    const grid = view.locator('[role="grid"]');
    const box = (await grid.boundingBox())!;
    await page.mouse.move(box.x + box.width - 20, box.y + 60);
    const tip = tid('token-routing-tooltip');
    await tip.waitFor();
    await page.waitForTimeout(50);
    const tipBox = (await tip.boundingBox())!;
    const vp = page.viewportSize()!;
    assert.ok(tipBox.x >= 0 && tipBox.y >= 0 && tipBox.x + tipBox.width <= vp.width && tipBox.y + tipBox.height <= vp.height, `tooltip inside the viewport: ${JSON.stringify(tipBox)}`);
    await shot('tooltip');
    await page.mouse.move(2, 2);
    await grid.focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    assert.match(await tip.innerText(), new RegExp(`^“.+” · prompt token 2 · layer ${forced[1].layer}`));
    assert.equal(await grid.getAttribute('aria-activedescendant'), 'token-routing-cell-2-1');
    await page.keyboard.press('End');
    assert.match(await tip.innerText(), new RegExp(`· generated token ${steered.tokens.length - 1} · layer`), 'End goes to the last token');
    await page.screenshot({ path: path.join(SHOTS, 'tokens-keyboard.png') });
    await grid.blur();
  });

  it('Compare: the baseline view shows the baseline\'s routing, the experts the mask switches off marked', { timeout: LONG }, async () => {
    await tid('compare-token-routing-side-baseline').click();
    const view = tid('token-routing');
    await page.locator('[data-testid="token-routing"][data-view="baseline"]').waitFor();
    assert.ok(await tid('token-routing-prompt').isChecked(), 'prompt tokens stay shown across the switch');
    const { cells, tokens } = await collect(view);
    const all = [...baseline.prompt, ...baseline.tokens];
    assert.deepEqual([...tokens.entries()], all.map((t, pos) => [pos, t.text]));
    assert.equal(cells.length, all.length * forced.length);
    let offShown = 0;
    for (const c of cells) {
      const where = `position ${c.pos}, layer ${c.layer}`;
      assert.deepEqual(c.experts, routingAt(baseline, c.pos, c.layer).experts, where);
      c.experts.forEach((e, j) => {
        const state = off.some((o) => o.layer === c.layer && o.expert === e) ? 'off' : forced.some((f) => f.layer === c.layer && f.expert === e) ? 'forced' : 'normal';
        assert.equal(c.marks[j], state, `mark of expert ${e} at ${where}`);
        if (state === 'off') offShown++;
      });
      assert.equal(c.removed, null, 'nothing is removed from the baseline');
    }
    assert.ok(offShown > 0, 'the baseline used the experts the mask switches off');
    await shot('compare-baseline');
    await view.screenshot({ path: path.join(SHOTS, 'tokens-compare-baseline-view.png') });
  });

  it('Imaging: the token strip labels its tokens and experts, and its tooltip stays inside the window', { timeout: LONG }, async () => {
    await tid('tab-probes').click();
    await page.locator(`[data-testid="probe-set"][data-file$="/${STRIP_SET}"]`).click();
    await tid('probe-generate-tokens').fill('10');
    await page.locator('[data-testid="probe-run"]:not([disabled])').click();
    await page.locator('[data-testid="run-row"][data-status="finished"]').waitFor();
    await tid('run-open').click();
    await tid('heatmap-canvas').waitFor();
    const refusal = planted[0];
    const at = (await cellCenter(page, 'heatmap', refusal.layer, refusal.expert))!;
    await page.mouse.click(at.x, at.y);
    await tid('expert-prompt-routing').first().click();
    const strip = tid('token-strip');
    await strip.waitFor();
    await strip.scrollIntoViewIfNeeded();
    // Every column is labelled with its token, the layer axis is named, and the key names the expert axis.
    const tokenCount = Number((await strip.locator('h3').innerText()).match(/(\d+) tokens/)![1]);
    assert.equal(await strip.locator('.strip-token').count(), tokenCount);
    assert.equal(await strip.locator('.strip-corner').innerText(), 'layer');
    const config = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'config.json'), 'utf8'));
    assert.match(await tid('token-strip-key').innerText(), new RegExp(`from 0 \\(left\\) to ${config.num_experts - 1} \\(right\\)`));
    const canvas = strip.locator('canvas');
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(Math.min(box.x + box.width, page.viewportSize()!.width) - 6, box.y + box.height - 4);
    const tip = tid('token-strip-tooltip');
    await tip.waitFor();
    await page.waitForTimeout(50);
    const tipBox = (await tip.boundingBox())!;
    const vp = page.viewportSize()!;
    await page.screenshot({ path: path.join(SHOTS, 'tokens-imaging-strip.png') });
    assert.ok(tipBox.x >= 0 && tipBox.y >= 0 && tipBox.x + tipBox.width <= vp.width && tipBox.y + tipBox.height <= vp.height, `tooltip inside the viewport: ${JSON.stringify(tipBox)}`);
  });

  it('no errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
