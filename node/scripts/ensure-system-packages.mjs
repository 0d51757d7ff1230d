// Makes sure the system programs the tests use are present. Chromium (CHROMIUM_PATH or /usr/bin/chromium) is
// required: when it is missing and we are root on Debian/Ubuntu, Debian's package is installed; otherwise this says
// what to do and fails. The optional tools (tcpdump for the wire-capture test, prometheus for the scrape test) are
// installed the same way when possible; when they cannot be, the tests that need them skip and say why.
// (Playwright's own browser download is not used: it needs hosts these machines cannot reach.)

import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** Optional programs and the Debian package that has each. */
const OPTIONAL = [
  { path: '/usr/bin/tcpdump', pkg: 'tcpdump' },
  { path: '/usr/bin/prometheus', pkg: 'prometheus' },
]

const root = typeof process.getuid === 'function' && process.getuid() === 0
const apt = root && existsSync('/usr/bin/apt-get')
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
let updated = false

function install(packages) {
  if (!updated) execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
  updated = true
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env })
}

if (!existsSync(chromium)) {
  if (!apt) {
    console.error(`Chromium not found at ${chromium}. Install it (Debian/Ubuntu: sudo apt-get install -y chromium) or set CHROMIUM_PATH.`)
    process.exit(1)
  }
  console.error(`Chromium not found at ${chromium}; installing Debian's chromium package (apt-get)...`)
  install(['chromium'])
  if (!existsSync(chromium)) {
    console.error(`apt-get finished but ${chromium} is still missing; set CHROMIUM_PATH to the Chromium binary.`)
    process.exit(1)
  }
}

const missing = OPTIONAL.filter((tool) => !existsSync(tool.path)).map((tool) => tool.pkg)
if (missing.length > 0 && apt) {
  console.error(`installing ${missing.join(', ')} for the tests that use them (apt-get)...`)
  try {
    install(missing)
  } catch {
    console.error(`could not install ${missing.join(', ')}: the tests that need them will skip`)
  }
}
