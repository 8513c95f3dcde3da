/** A one-line progress report on stderr: redrawn in place on a terminal, a line every 10 % otherwise. */
export function progressReporter(label: string): (done: number, total: number, detail?: string) => void {
  let lastDecile = -1;
  return (done, total, detail = '') => {
    const pct = total ? Math.floor((done / total) * 100) : 100;
    if (process.stderr.isTTY) {
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${detail}`.padEnd(90).slice(0, 120));
      if (done === total) process.stderr.write('\n');
    } else if (Math.floor(pct / 10) !== lastDecile || done === total) {
      lastDecile = Math.floor(pct / 10);
      process.stderr.write(`${label}: ${done}/${total} (${pct} %)${detail ? ` ${detail}` : ''}\n`);
    }
  };
}
