/**
 * How the daemon proves itself to an agent: a bearer token in the HTTP upgrade
 * request, checked before the websocket exists. Tokens are random, at least
 * TOKEN_MIN_BYTES of entropy, hex-encoded, and never put on a command line.
 */
export const AUTH_HEADER = 'authorization';
export const TOKEN_MIN_BYTES = 16;
/** Environment variable through which an agent receives its token. */
export const TOKEN_ENV = 'SKIFF_AGENT_TOKEN';

export function bearer(token: string): string {
  return `Bearer ${token}`;
}

/** Extracts the token from an Authorization header value, or null. */
export function parseBearer(value: string | undefined): string | null {
  if (typeof value !== 'string') return null;
  const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(value.trim());
  return m ? m[1] : null;
}
