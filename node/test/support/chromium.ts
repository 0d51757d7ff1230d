// Debian's headless Chromium for every browser test (Vitest browser mode in vite.config.ts, the web app's
// Playwright tests, the browser benchmarks): where it is and the flags it needs here (../shared/MACHINE.md).

/** `apt-get install -y chromium`, never Playwright's download (`playwright install` fails on this network). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Added to the flags Playwright passes itself (it already adds --headless, --no-sandbox and most of these; ours stay
 *  explicit so a Playwright upgrade cannot drop them). The network ones stop Chromium from dialling Google services
 *  on this closed network. Trap: Chromium honours only the LAST --disable-features=, and Playwright passes its own
 *  list; a --disable-features added here must repeat Playwright's names (see docs/TESTING.md). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
]
