/** Live d3 charts (an <svg> in a <figure> with an HTML key) as stand-alone SVG and PNG files. */

const STYLE_PROPS = ['fill', 'stroke', 'stroke-width', 'stroke-dasharray', 'font-size', 'font-family', 'font-weight', 'text-anchor', 'display', 'opacity'];
const TITLE_H = 30;
const KEY_H = 26;
const FONT = 'system-ui, -apple-system, "Segoe UI", sans-serif';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface ChartFile {
  svg: string;
  width: number;
  height: number;
}

/**
 * The figure's chart as SVG text: the page's computed styles inlined (the file has no stylesheet), a title above,
 * and the figure's key (its `.chart-key` items: a swatch and a name) drawn below.
 */
export function chartFile(figure: HTMLElement, title: string): ChartFile {
  const svg = figure.querySelector('svg');
  if (!svg) throw new Error('chart export: the figure holds no chart');
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const source = [svg, ...svg.querySelectorAll('*')];
  const target = [clone, ...clone.querySelectorAll('*')];
  // As presentation attributes: a style attribute would be refused by the page's Content-Security-Policy.
  source.forEach((el, i) => {
    const style = getComputedStyle(el);
    for (const p of STYLE_PROPS) target[i].setAttribute(p, style.getPropertyValue(p));
    target[i].removeAttribute('class');
  });
  const width = Number(svg.getAttribute('width'));
  const chartH = Number(svg.getAttribute('height'));
  clone.setAttribute('x', '0');
  clone.setAttribute('y', String(TITLE_H));
  const keys = [...figure.querySelectorAll('.chart-key > span')].map((span) => ({
    name: span.textContent ?? '',
    color: getComputedStyle(span.querySelector('i') ?? span).backgroundColor,
  }));
  let x = 44;
  const keyY = TITLE_H + chartH + 14;
  const keyParts = keys.map((k) => {
    const part = `<rect x="${x}" y="${keyY - 9}" width="10" height="10" rx="2" fill="${k.color}"/><text x="${x + 15}" y="${keyY}" font-size="12" fill="#59636e">${esc(k.name)}</text>`;
    x += 15 + k.name.length * 6.6 + 18;
    return part;
  });
  const height = TITLE_H + chartH + (keys.length ? KEY_H : 0);
  const text = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family='${FONT}'>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="13" font-weight="600" fill="#1f2328">${esc(title)}</text>`,
    new XMLSerializer().serializeToString(clone),
    ...keyParts,
    '</svg>',
  ].join('\n');
  return { svg: text, width, height };
}

/** PNG at 2× of chartFile's SVG, drawn through an <img> onto a canvas (a data: URL: the page's CSP allows no blob: images). */
export async function chartPng(file: ChartFile): Promise<Blob> {
  const img = new Image();
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(file.svg)}`;
  await img.decode();
  const scale = 2;
  const canvas = document.createElement('canvas');
  canvas.width = file.width * scale;
  canvas.height = file.height * scale;
  canvas.getContext('2d')!.drawImage(img, 0, 0, canvas.width, canvas.height);
  return new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('chart PNG: the canvas could not be encoded'))), 'image/png'));
}
