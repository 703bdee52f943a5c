import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

// Who may see the dashboard. Bound to loopback, no token is needed (only this
// machine reaches it). Bound anywhere else, a token is required, and every route
// checks it: `Authorization: Bearer <token>`, or `?token=<token>` once, which sets
// an HttpOnly cookie and redirects to the same URL without the token (so it does
// not stay in the address bar or the history; EventSource requests carry the cookie).

export const TOKEN_COOKIE = 'atomizer_dashboard_token';
export const TOKEN_ENV = 'ATOMIZER_DASHBOARD_TOKEN';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase());
}

/** Refuse a non-loopback bind without a token, and a token too short to be a secret. */
export function checkBinding(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < 8) {
    throw new Error(`dashboard token is too short (${token.length} characters): use at least 8, e.g. \`openssl rand -hex 16\``);
  }
  if (token === undefined && !isLoopbackHost(host)) {
    throw new Error(
      `refusing to serve the dashboard on ${host} without a token: anyone who reaches this address could read the run and the queues. ` +
        `Give --token <secret> (or ${TOKEN_ENV}), or keep --host 127.0.0.1 and reach it through an SSH tunnel (ssh -L 8080:127.0.0.1:8080 <machine>).`,
    );
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function sameToken(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * Express middleware. With a token: every request must carry it. Without one
 * (loopback bind): the Host header must name a loopback host, so a web page on
 * another site cannot reach the dashboard through DNS rebinding.
 */
export function authMiddleware(token: string | undefined): (req: Request, res: Response, next: NextFunction) => void {
  if (token === undefined) {
    return (req, res, next) => {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopbackHost(host)) {
        res
          .status(403)
          .type('text/plain')
          .send(`dashboard: host '${host}' refused (served on loopback only; start it with --host and --token to share it)\n`);
        return;
      }
      next();
    };
  }
  const expected = digest(token);
  return (req, res, next) => {
    const auth = req.headers.authorization;
    if (auth !== undefined && auth.startsWith('Bearer ') && sameToken(auth.slice('Bearer '.length).trim(), expected)) {
      next();
      return;
    }
    const query = typeof req.query.token === 'string' ? req.query.token : undefined;
    if (query !== undefined && sameToken(query, expected)) {
      res.cookie(TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/' });
      if (req.method === 'GET' || req.method === 'HEAD') {
        const url = new URL(req.originalUrl, 'http://dashboard.invalid');
        url.searchParams.delete('token');
        res.redirect(302, url.pathname + url.search);
        return;
      }
      next();
      return;
    }
    const cookie = cookieValue(req.headers.cookie, TOKEN_COOKIE);
    if (cookie !== undefined && sameToken(cookie, expected)) {
      next();
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', 'Bearer realm="atomizer dashboard"')
      .type('text/plain')
      .send('dashboard: a token is required: open the address with ?token=<token> once, or send Authorization: Bearer <token>\n');
  };
}
