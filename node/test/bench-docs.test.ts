// pnpm bench writes each full run's table into docs/BENCHMARKS.md: into the benchmark's own block when the page has
// one, else into a new one under "## Latest tables"; the prose around the blocks is kept.

import { describe, expect, it } from 'vitest'
import { withTable } from '../../bench/support/docs-tables.js'

describe('bench tables in docs/BENCHMARKS.md', () => {
  it('replaces a benchmark block in place and keeps the text around it', () => {
    const doc = 'intro\n<!-- bench:tasks -->\nold\n<!-- /bench:tasks -->\nafter\n'
    const out = withTable(doc, 'tasks', 'a  b\n1  2', '2026-11-27')
    expect(out).toBe(
      'intro\n<!-- bench:tasks -->\n```text\na  b\n1  2\n```\n\n`pnpm bench tasks`, 2026-11-27\n<!-- /bench:tasks -->\nafter\n',
    )
    expect(withTable(out, 'tasks', 'a  b\n3  4', '2026-11-28')).toContain('3  4')
    expect(withTable(out, 'tasks', 'a  b\n3  4', '2026-11-28')).not.toContain('1  2')
  })

  it('adds a block under "## Latest tables" for a benchmark that has none', () => {
    const once = withTable('# Benchmarks\n', 'routing', 't1', '2026-11-27')
    expect(once).toContain('## Latest tables')
    expect(once).toContain('### routing\n\n<!-- bench:routing -->')
    const twice = withTable(once, 'simulation', 't2', '2026-11-27')
    expect(twice.match(/## Latest tables/g)).toHaveLength(1)
    expect(withTable(twice, 'routing', 't3', '2026-11-27')).not.toContain('t1')
  })
})
