/** The lab's tables: a header row and rows, each column padded to its widest cell. */
export function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(w[i]!))
      .join('   ')
      .trimEnd(),
  );
}
