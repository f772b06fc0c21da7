import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { GalleryRequestError } from './gallery-errors.js';

/** A new random token for a gallery's URL: 192 bits, URL-safe. */
export function newAccessToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The token a request carries: `Authorization: Bearer <token>` (data calls) or `?token=` (images, the page's URL). */
export function tokenOfRequest(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  query: unknown,
): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (bearer) return bearer[1];
  }
  const fromQuery = (query as Record<string, unknown> | undefined)?.token;
  return typeof fromQuery === 'string' && fromQuery.length > 0 ? fromQuery : undefined;
}

/**
 * Refuses a request without the token (401) or with another one (403). The comparison takes the
 * same time whatever the given token is (digests of equal length, compared in constant time).
 */
export function checkAccessToken(given: string | undefined, expected: string): void {
  if (given === undefined)
    throw new GalleryRequestError(
      401,
      'TOKEN_MISSING',
      'this call needs the gallery token: open the URL the gallery printed (it ends in ?token=…)',
    );
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  if (!timingSafeEqual(digest(given), digest(expected))) {
    throw new GalleryRequestError(
      403,
      'TOKEN_WRONG',
      'the gallery token is wrong (the gallery makes a new one each time it starts): open the URL it printed',
    );
  }
}

/**
 * Refuses a request whose Host header is not this server's loopback address: a web page on
 * another site that resolves its own name to 127.0.0.1 (DNS rebinding) then cannot read the gallery.
 */
export function checkHostHeader(host: string | undefined, port: number): void {
  const allowed = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  if (!host || !allowed.includes(host.toLowerCase())) {
    throw new GalleryRequestError(
      403,
      'HOST_REFUSED',
      `this gallery answers only as http://127.0.0.1:${port}/ (the request named host ${JSON.stringify(host ?? '')})`,
    );
  }
}
