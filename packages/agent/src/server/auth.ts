import { createHash, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { ErrorCode, SkiffError, TOKEN_MIN_BYTES, parseBearer } from '@skiff/protocol';

/** Tokens are hex: TOKEN_MIN_BYTES bytes of entropy are twice as many characters. */
export const TOKEN_MIN_CHARS = TOKEN_MIN_BYTES * 2;

export type TokenCheck = (authorization: string | undefined) => boolean;

/**
 * Token check of the HTTP upgrade, done before any websocket exists. Both
 * tokens are reduced to sha256 digests and compared in constant time, so
 * neither the content nor the length of the expected token leaks through
 * timing. A refused request gets a bare 401 and its socket is destroyed.
 */
export function tokenCheck(token: string): TokenCheck {
  if (parseBearer(`Bearer ${token}`) !== token || token.length < TOKEN_MIN_CHARS) {
    throw new SkiffError(
      ErrorCode.AUTH,
      `the agent token must be at least ${TOKEN_MIN_CHARS} printable characters without spaces (${TOKEN_MIN_BYTES} random bytes, hex)`,
    );
  }
  const expected = digest(token);
  return (authorization) => {
    const offered = parseBearer(authorization);
    // Compare even when no token came, so a missing header costs the same time.
    const same = timingSafeEqual(digest(offered ?? ''), expected);
    return offered !== null && same;
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Answers an upgrade request with a bare HTTP status and drops the socket. */
export function rejectUpgrade(socket: Duplex, status: number, statusText: string, reason: string): void {
  const body = `${reason}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
  );
}
