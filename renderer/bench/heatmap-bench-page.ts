import { installBench } from './heatmap-bench.ts';

installBench();
// Set through the CSSOM: a style attribute in the page would be an inline style, which the CSP refuses.
document.body.style.font = '13px system-ui, sans-serif';
document.getElementById('status')!.textContent = 'window.__moteBench.renderHeatmap(rows, cols, frames) → ms per frame';
