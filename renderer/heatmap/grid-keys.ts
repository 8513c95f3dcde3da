/** The cell an arrow, Home or End key moves to (clamped to the grid), or null for other keys. */
export function gridKeyStep(key: string, { row, col }: { row: number; col: number }, rows: number, cols: number): { row: number; col: number } | null {
  const clamp = (v: number, n: number) => Math.max(0, Math.min(n - 1, v));
  switch (key) {
    case 'ArrowLeft': return { row, col: clamp(col - 1, cols) };
    case 'ArrowRight': return { row, col: clamp(col + 1, cols) };
    case 'ArrowUp': return { row: clamp(row - 1, rows), col };
    case 'ArrowDown': return { row: clamp(row + 1, rows), col };
    case 'Home': return { row, col: 0 };
    case 'End': return { row, col: cols - 1 };
    default: return null;
  }
}
