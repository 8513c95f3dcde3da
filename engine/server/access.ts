import crypto from 'node:crypto';
import type http from 'node:http';

/**
 * Who may talk to `mote serve`. Every HTTP request and WebSocket upgrade needs the access token, as `?token=` or as
 * the cookie set when a page was loaded with it. The Host header must name our own loopback address (a page on a
 * rebinding DNS name cannot pass it), and a WebSocket upgrade that comes with an Origin (every browser's does) must
 * come from our own origin.
 */
export class AccessGate {
  readonly cookieName: string;
  private readonly hosts: string[];

  constructor(private readonly token: string, port: number) {
    // Cookies are shared by every port of a host: the name keeps two servers' tokens apart.
    this.cookieName = `mote_token_${port}`;
    this.hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  }

  /** null when the request may proceed; else the status and reason to refuse it with. */
  check(req: http.IncomingMessage, upgrade: boolean): { status: 401 | 403; reason: string } | null {
    if (!this.hosts.includes(req.headers.host ?? '')) return { status: 403, reason: `Host ${JSON.stringify(req.headers.host ?? '')} is not this server` };
    const origin = req.headers.origin;
    if (upgrade && origin !== undefined && !this.hosts.some((h) => origin === `http://${h}`)) {
      return { status: 403, reason: `Origin ${JSON.stringify(origin)} may not connect` };
    }
    if (!this.matches(this.queryToken(req)) && !this.matches(this.cookieToken(req))) {
      return { status: 401, reason: 'missing or wrong access token: open the URL `mote serve` printed' };
    }
    return null;
  }

  /**
   * The OpenAI-compatible API's check: our own Host, and the token as a bearer token (`Authorization: Bearer TOKEN`,
   * what OpenAI clients send as their API key). Cookies do not count, so no web page can spend them on the API.
   */
  checkBearer(req: http.IncomingMessage): { status: 401 | 403; reason: string } | null {
    if (!this.hosts.includes(req.headers.host ?? '')) return { status: 403, reason: `Host ${JSON.stringify(req.headers.host ?? '')} is not this server` };
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!this.matches(bearer ? bearer[1] : null)) {
      return { status: 401, reason: 'missing or wrong API key: send the access token `mote serve` printed as the bearer token (the API key of an OpenAI client)' };
    }
    return null;
  }

  /** The cookie to set when a page was loaded with the token in its URL. */
  cookieFor(req: http.IncomingMessage): string | null {
    if (!this.matches(this.queryToken(req))) return null;
    return `${this.cookieName}=${this.token}; Path=/; HttpOnly; SameSite=Strict`;
  }

  private queryToken(req: http.IncomingMessage): string | null {
    return new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('token');
  }

  private cookieToken(req: http.IncomingMessage): string | null {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [name, ...value] = part.trim().split('=');
      if (name === this.cookieName) return value.join('=');
    }
    return null;
  }

  private matches(candidate: string | null): boolean {
    if (candidate === null) return false;
    const [a, b] = [Buffer.from(candidate), Buffer.from(this.token)];
    return a.length === b.length && crypto.timingSafeEqual(a, b);
  }
}
