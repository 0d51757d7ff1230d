// `pnpm bench` keeps docs/BENCHMARKS.md's tables current: after a full run (not --quick) each benchmark's table
// replaces the block between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, with the date and the command; a
// benchmark without a block gets one under "## Latest tables". The prose around the blocks (what the figures mean,
// what was fixed) stays as written.

import { readFile, writeFile } from 'node:fs/promises'

const LATEST = '## Latest tables'

/** `doc` with `name`'s block set to `table`. */
export function withTable(doc: string, name: string, table: string, date: string): string {
  const open = `<!-- bench:${name} -->`
  const close = `<!-- /bench:${name} -->`
  const block = `${open}\n\`\`\`text\n${table.trimEnd()}\n\`\`\`\n\n\`pnpm bench ${name}\`, ${date}\n${close}`
  const start = doc.indexOf(open)
  const end = doc.indexOf(close)
  if (start !== -1 && end > start) return doc.slice(0, start) + block + doc.slice(end + close.length)
  const heading = doc.indexOf(LATEST)
  if (heading === -1)
    return `${doc.trimEnd()}\n\n${LATEST}\n\nWritten by \`pnpm bench\` after each full run of a benchmark.\n\n### ${name}\n\n${block}\n`
  return `${doc.trimEnd()}\n\n### ${name}\n\n${block}\n`
}

export async function updateBenchmarksDoc(file: string, name: string, table: string): Promise<void> {
  const doc = await readFile(file, 'utf8')
  await writeFile(file, withTable(doc, name, table, new Date().toISOString().slice(0, 10)))
}
