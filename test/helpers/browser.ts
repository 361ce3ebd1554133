import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { ROOT } from './build.js'

/** Debian's chromium, as .ci/run installs it. */
export const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

export const SCREENSHOT_DIR = join(ROOT, 'test-artifacts', 'screenshots')
export const WIDTHS = [1280, 390] as const

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true })
}

/** Elements that show a secret (recovery key, share key, their QR codes): painted over in screenshots. */
const SECRETS = '#recovery-key, #share-key, .qr'

/**
 * A full-page screenshot of the current screen at every width (test-artifacts/screenshots/
 * NAME-WIDTH.png), with every secret on it masked: keys never reach test artifacts.
 */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const before = page.viewportSize()
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 })
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${width}.png`), fullPage: true, mask: [page.locator(SECRETS)], maskColor: '#8a8f98' })
  }
  if (before) await page.setViewportSize(before)
}
