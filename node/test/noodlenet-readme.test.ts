// packages/noodlenet/README.md's Node example works as written: the block marked `<!-- example: node -->` runs in a
// fresh `node --import tsx` process, from a file inside the package so that `noodlenet/node` resolves to it, and
// prints exactly the block marked `<!-- example-output: node -->`.

import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const PACKAGE_DIR = fileURLToPath(new URL('../../packages/noodlenet/', import.meta.url))
const scratch: string[] = []

afterAll(async () => {
  await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })))
})

/** The fenced block right after `<!-- MARKER -->`. */
function markedBlock(readme: string, marker: string): string {
  const match = new RegExp(`<!-- ${marker} -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(readme)
  if (match === null) throw new Error(`packages/noodlenet/README.md has no fenced block after <!-- ${marker} -->`)
  return match[1]
}

describe('packages/noodlenet/README.md', () => {
  it('the Node example runs as written and prints what the README says', async () => {
    const readme = await readFile(join(PACKAGE_DIR, 'README.md'), 'utf8')
    const code = markedBlock(readme, 'example: node')
    const expected = markedBlock(readme, 'example-output: node')
    await mkdir(join(PACKAGE_DIR, '.tmp'), { recursive: true })
    const dir = await mkdtemp(join(PACKAGE_DIR, '.tmp', 'readme-'))
    scratch.push(dir)
    const file = join(dir, 'example.ts')
    await writeFile(file, code)

    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], {
      cwd: dir,
      timeout: 45_000,
    })
    expect(stdout.trim()).toBe(expected.trim())
    // The example asks for warnings only; a clean run has none.
    expect(stderr).toBe('')
  })
})
