import { installBench } from './heatmap-bench.ts';

installBench();
document.getElementById('status')!.textContent = 'window.__moteBench.renderHeatmap(rows, cols, frames) → ms per frame';
