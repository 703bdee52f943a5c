import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { ensureDebianProgram } from '../../debian-package.js';

// Headless Chromium for the dashboard's browser test and screenshot script: Debian's
// `chromium` package driven by playwright-core (which downloads no browser of its own).

export const CHROMIUM_ENV = 'ATOMIZER_CHROMIUM';
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium binary: ATOMIZER_CHROMIUM, else Debian's /usr/bin/chromium. Throws what to install when there is none. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const given = env[CHROMIUM_ENV];
  const candidates = given !== undefined && given !== '' ? [given] : CANDIDATES;
  for (const p of candidates) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  throw new Error(
    `no Chromium found (looked at ${candidates.join(', ')}): the dashboard's browser test needs Debian's chromium: ` +
      `sudo apt-get install -y chromium (npm test and .ci/run install it when run as root), or set ${CHROMIUM_ENV} to a Chromium binary`,
  );
}

/** Chromium, installed from Debian's packages when it is missing and we run as root (npm test's global setup). */
export function ensureChromium(say: (line: string) => void): string {
  if (process.env[CHROMIUM_ENV]) return chromiumPath();
  const find = (): string | undefined => {
    try {
      return chromiumPath();
    } catch {
      return undefined;
    }
  };
  return ensureDebianProgram(
    { pkg: 'chromium', find, hint: `sudo apt-get install -y chromium, or set ${CHROMIUM_ENV} to a Chromium binary` },
    say,
  );
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Root in a container: Chromium's sandbox needs user namespaces it may not have.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}
