// Makes sure a Chromium for the browser tests is present: CHROMIUM_PATH or /usr/bin/chromium. When it is
// missing and we are root on Debian/Ubuntu, installs Debian's package; otherwise says what to do and fails.
// (Playwright's own browser download is not used: it needs hosts these machines cannot reach.)

import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

if (!existsSync(path)) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  if (!root || !existsSync('/usr/bin/apt-get')) {
    console.error(`Chromium not found at ${path}. Install it (Debian/Ubuntu: sudo apt-get install -y chromium) or set CHROMIUM_PATH.`)
    process.exit(1)
  }
  console.error(`Chromium not found at ${path}; installing Debian's chromium package (apt-get)...`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env })
  if (!existsSync(path)) {
    console.error(`apt-get finished but ${path} is still missing; set CHROMIUM_PATH to the Chromium binary.`)
    process.exit(1)
  }
}
