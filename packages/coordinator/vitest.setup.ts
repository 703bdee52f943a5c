import { ensureChromium } from './src/dashboard/testing/browser.js';

// The dashboard's browser tests drive Debian's Chromium: install it the way
// `atomizer demo` installs redis-server (root + apt-get), else fail with the command.
export default function setup(): void {
  ensureChromium((line) => console.log(`[coordinator tests] ${line}`));
}
