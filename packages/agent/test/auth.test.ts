import { describe, expect, it } from 'vitest';
import { ErrorCode, bearer } from '@skiff/protocol';
import { TOKEN_MIN_CHARS, tokenCheck } from '../src/server/auth.ts';
import { CloseCode, closeCodeFor } from '../src/server/close-codes.ts';

const TOKEN = 'a1'.repeat(32);

describe('tokenCheck', () => {
  const check = tokenCheck(TOKEN);
  it.each([
    [bearer(TOKEN), true],
    [`  ${bearer(TOKEN)}  `, true],
    [bearer(TOKEN.toUpperCase()), false],
    [bearer(TOKEN.slice(0, -1)), false],
    [bearer(`${TOKEN}0`), false],
    [TOKEN, false],
    [`Basic ${TOKEN}`, false],
    ['Bearer ', false],
    ['', false],
    [undefined, false],
  ])('%j → %s', (header, ok) => {
    expect(check(header)).toBe(ok);
  });

  it.each([
    ['too short', 'ab'.repeat(TOKEN_MIN_CHARS / 2 - 1)],
    ['empty', ''],
    ['with a space', `${'a'.repeat(TOKEN_MIN_CHARS)} b`],
  ])('refuses to start with a token that is %s', (_name, token) => {
    expect(() => tokenCheck(token)).toThrow(expect.objectContaining({ code: ErrorCode.AUTH }));
  });
});

describe('closeCodeFor', () => {
  it.each([
    [ErrorCode.PROTOCOL_VERSION, CloseCode.PROTOCOL_ERROR],
    [ErrorCode.PROTOCOL_STATE, CloseCode.PROTOCOL_ERROR],
    [ErrorCode.FRAME_TRUNCATED, CloseCode.INVALID_PAYLOAD],
    [ErrorCode.FRAME_MALFORMED, CloseCode.INVALID_PAYLOAD],
    [ErrorCode.PATH_TRAVERSAL, CloseCode.POLICY_VIOLATION],
    [ErrorCode.SYMLINK_ESCAPE, CloseCode.POLICY_VIOLATION],
    [ErrorCode.INTERNAL, CloseCode.INTERNAL_ERROR],
  ])('%s → %i', (code, close) => {
    expect(closeCodeFor(code)).toBe(close);
  });
});
