#!/usr/bin/env node
// Maintainers: draws the app icon, a 4 × 4 grid of expert cells shaded like the app's activation heatmap with three
// hot experts and one switched off (struck through), into renderer/public/icon.png (512 × 512 RGBA, 4 × 4
// supersampled). Vite copies it into dist/renderer: the browser's favicon, the Electron window's icon, and
// electron-builder's source for every platform's icon (electron-builder.yml). Run after changing the design:
//   node scripts/make-icon.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const SIZE = 512;
const SUPERSAMPLE = 4;
const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../renderer/public/icon.png');

const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const BACKGROUND = rgb('#1b2a4a');
const COLD = rgb('#2c4274');
const ACCENT = rgb('#2456d6');
const WARM = rgb('#f0802a');
const HOT = rgb('#ffc247');
const OFF = rgb('#14203a');
const STRIKE = rgb('#e5484d');

/** Heat of each cell, row by row: 0 cold … 1 hot; -1 an expert switched off. */
const HEAT = [
  [0.1, 0.35, 0, 1],
  [0.5, 0, 0.9, 0.2],
  [0, -1, 0.25, 0],
  [0.8, 0.15, 0, 0.4],
];

const mix = (a, b, t) => a.map((v, i) => v + (b[i] - v) * t);
const cellColour = (h) => (h < 0 ? OFF : h <= 0.6 ? mix(COLD, ACCENT, h / 0.6) : mix(WARM, HOT, (h - 0.6) / 0.4));

/** Inside a rounded rectangle [x0, x1] × [y0, y1] with corner radius r. */
function inRounded(x, y, x0, y0, x1, y1, r) {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

const MARGIN = 24;
const GRID = 4;
const GAP = 20;
const PAD = 52;
const CELL = (SIZE - 2 * MARGIN - 2 * PAD - (GRID - 1) * GAP) / GRID;

/** Colour and opacity of one sample point. */
function sample(x, y) {
  if (!inRounded(x, y, MARGIN, MARGIN, SIZE - MARGIN, SIZE - MARGIN, 96)) return null;
  const gx = x - MARGIN - PAD;
  const gy = y - MARGIN - PAD;
  const col = Math.floor(gx / (CELL + GAP));
  const row = Math.floor(gy / (CELL + GAP));
  if (col < 0 || row < 0 || col >= GRID || row >= GRID) return BACKGROUND;
  const x0 = MARGIN + PAD + col * (CELL + GAP);
  const y0 = MARGIN + PAD + row * (CELL + GAP);
  if (!inRounded(x, y, x0, y0, x0 + CELL, y0 + CELL, 14)) return BACKGROUND;
  const heat = HEAT[row][col];
  if (heat < 0) {
    // Struck through corner to corner: the off expert.
    const u = (x - x0) / CELL;
    const v = (y - y0) / CELL;
    if (Math.abs(u - v) * CELL / Math.SQRT2 < 7 && u + v > 0.4 && u + v < 1.6) return STRIKE;
  }
  return cellColour(heat);
}

function render() {
  const pixels = Buffer.alloc(SIZE * SIZE * 4);
  const n = SUPERSAMPLE * SUPERSAMPLE;
  for (let py = 0; py < SIZE; py++) {
    for (let px = 0; px < SIZE; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const c = sample(px + (sx + 0.5) / SUPERSAMPLE, py + (sy + 0.5) / SUPERSAMPLE);
          if (!c) continue;
          r += c[0]; g += c[1]; b += c[2]; a++;
        }
      }
      const o = (py * SIZE + px) * 4;
      if (a) [pixels[o], pixels[o + 1], pixels[o + 2]] = [r / a, g / a, b / a].map(Math.round);
      pixels[o + 3] = Math.round((a / n) * 255);
    }
  }
  return pixels;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An 8-bit RGBA PNG: every scanline with filter 0, deflated. */
export function encodePng(width, height, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8);
  const raw = Buffer.alloc(height * (width * 4 + 1));
  for (let y = 0; y < height; y++) rgba.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, encodePng(SIZE, SIZE, render()));
  console.log(`wrote ${path.relative(process.cwd(), OUT)} (${SIZE} × ${SIZE})`);
}
