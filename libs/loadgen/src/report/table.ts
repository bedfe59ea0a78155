export type Align = 'left' | 'right';

/** Renders a header and rows as aligned columns separated by two spaces. */
export function renderTable(header: string[], rows: string[][], align: Align[]): string {
  return renderRows([header, ...rows], align);
}

/** Renders rows as aligned columns separated by two spaces (no trailing spaces). */
export function renderRows(rows: string[][], align: Align[]): string {
  const columns = Math.max(0, ...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, col) => Math.max(0, ...rows.map((row) => (row[col] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, col) => ((align[col] ?? 'left') === 'right' ? cell.padStart(widths[col]) : cell.padEnd(widths[col])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A latency in milliseconds with two decimals, or `-` when there is none. */
export function ms(value: number | null): string {
  return value === null ? '-' : value.toFixed(2);
}

/** Seconds with two decimals. */
export function secs(value: number): string {
  return `${value.toFixed(2)} s`;
}

/** `1 order` / `2 orders`. */
export function plural(count: number, word: string, pluralWord = `${word}s`): string {
  return `${count} ${count === 1 ? word : pluralWord}`;
}
