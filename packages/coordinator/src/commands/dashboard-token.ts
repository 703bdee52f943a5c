import { Option } from 'commander';
import { TOKEN_ENV } from '../dashboard/auth.js';

// The dashboard's --token, defined once for the two commands that serve the dashboard
// (`atomizer dashboard`, `atomizer train --dashboard`), so the hint "give --token" names a
// flag both have; ATOMIZER_DASHBOARD_TOKEN sets it too.

/** `--token <secret>` (env ATOMIZER_DASHBOARD_TOKEN); `when` says when it applies, e.g. 'with --dashboard'. */
export function dashboardTokenOption(when?: string): Option {
  return new Option(
    '--token <secret>',
    `${when !== undefined ? `${when}: ` : ''}dashboard token, required on every route (Authorization: Bearer, or ?token= once, then a cookie); needed to serve beyond loopback (--host)`,
  ).env(TOKEN_ENV);
}

/** The token given by --token or the environment; an empty one is no token. */
export function givenDashboardToken(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
