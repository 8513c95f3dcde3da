import { format } from 'd3';

export const fmtPct = format('.1%');

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** 1.3 B, 420 M, 12 K. */
export const fmtCount = (n: number) => format('.3~s')(n).replace('G', ' B').replace(/([0-9])([kMT])$/, (_, d, u) => `${d} ${u === 'k' ? 'K' : u}`);

/** Decoder-layer indices as ranges: "3–60" or "0, 2, 4–7". */
export function fmtLayers(layers: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < layers.length; ) {
    let j = i;
    while (j + 1 < layers.length && layers[j + 1] === layers[j] + 1) j++;
    parts.push(j > i ? `${layers[i]}–${layers[j]}` : String(layers[i]));
    i = j + 1;
  }
  return parts.join(', ');
}
