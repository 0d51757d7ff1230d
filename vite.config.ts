// Root Vitest configuration: one project per package and runtime. shared/ runs twice, in Node and in headless
// Chromium (Vitest browser mode with Debian's chromium); see docs/TESTING.md for the layout, the Chromium requirement
// and why each browser option is here.

import { existsSync } from 'node:fs'
import { playwright } from '@vitest/browser-playwright'
import { configDefaults, defineConfig } from 'vitest/config'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './node/test/support/chromium.js'

const chromiumPath = CHROMIUM_PATH
if (!existsSync(chromiumPath)) {
  console.warn(
    `[vite.config] no Chromium at ${chromiumPath}: the browser projects (shared-browser, packages-browser) will fail to launch. ` +
      'Install it (apt-get install -y chromium) or point CHROMIUM_PATH at a Chromium binary.',
  )
}

// --enable-unsafe-webgpu: navigator.gpu for packages/webgpu's kernel tests (headless Linux Chromium leaves WebGPU off
// without it; its adapter here is SwiftShader). Harmless to the other browser tests.
const chromiumArgs = [...CHROMIUM_ARGS, '--enable-unsafe-webgpu']

/** Vitest browser mode in Debian's headless Chromium, for each browser project (a fresh object each time: Vitest
 *  names the instances in place). A screenshot of the (empty) test page explains nothing for these logic tests, so
 *  none is written. */
function headlessChromium() {
  return {
    enabled: true,
    headless: true,
    provider: playwright({ launchOptions: { executablePath: chromiumPath, args: chromiumArgs } }),
    instances: [{ browser: 'chromium' as const }],
    screenshotFailures: false,
  }
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'shared-node',
          include: ['shared/test/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['node/src/shims.ts'],
          testTimeout: 30_000,
        },
      },
      {
        // Nothing to add to Vite for this project, on purpose (checked with Vite 8.3 / Vitest 4.1):
        // - Vitest hands every test file to Vite's dependency optimizer as an entry, so the crawler pre-bundles all
        //   of shared/src's static imports (libp2p and friends) once, before the first test: no reload mid-run.
        //   shared/src has no dynamic import(); if one is added and Vitest warns "Vite unexpectedly reloaded a test",
        //   see docs/TESTING.md (optimizeDeps.include cannot name them from here: pnpm keeps them in shared/).
        // - Vite's browser resolve conditions and `browser` fields already pick pino/browser.js and libp2p's
        //   *.browser.js files; no define, alias or Node polyfill is needed, and shared/src must not need one.
        test: {
          name: 'shared-browser',
          include: ['shared/test/**/*.test.ts'],
          testTimeout: 30_000,
          browser: headlessChromium(),
        },
      },
      {
        // The browser packages (packages/noodlenet): browser-only code such as the IndexedDB stores, in the same
        // headless Chromium with the same options as shared-browser.
        test: {
          name: 'packages-browser',
          // packages/webrtc's and packages/webgpu's tests run in Node (project `node`), except their *.browser.test.ts.
          include: ['packages/*/test/**/*.test.ts'],
          exclude: [
            ...configDefaults.exclude,
            'packages/webrtc/test/**/!(*.browser).test.ts',
            'packages/webgpu/test/**/!(*.browser).test.ts',
          ],
          testTimeout: 30_000,
          browser: headlessChromium(),
        },
      },
      {
        test: {
          name: 'node',
          // packages/webrtc's tests need Node (@roamhq/wrtc), packages/webgpu's the Dawn child process; their
          // *.browser.test.ts run in Chromium (packages-browser).
          include: [
            'node/test/**/*.test.ts',
            'signaling/test/**/*.test.ts',
            'packages/webrtc/test/**/*.test.ts',
            'packages/webgpu/test/**/*.test.ts',
            'web/test/**/*.test.ts',
          ],
          exclude: [...configDefaults.exclude, '**/*.browser.test.ts'],
          environment: 'node',
          setupFiles: ['node/src/shims.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
})
