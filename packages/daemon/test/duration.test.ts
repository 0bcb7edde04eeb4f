import { describe, expect, it } from 'vitest';
import { DEFAULT_PUSH_TIMEOUT_MS, parseGoDuration, pushTimeoutFromEnv } from '../src/config/duration.ts';

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['300ms', 300],
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['2h45m30.5s', 9_930_500],
    ['1000us', 1],
    ['1000µs', 1],
    ['1000μs', 1],
    ['1000000ns', 1],
    ['.5s', 500],
    ['1.s', 1000],
    ['-1.5m', -90_000],
    ['+2s', 2000],
  ])('%s = %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', '1', '10', 's', '1x', '1 s', '1h 30m', '--1s', '1.2.3s', 'ms', '.s', '1hh', '-', '1S'])('rejects %j', (text) => {
    expect(parseGoDuration(text)).toBeNull();
  });
});

describe('pushTimeoutFromEnv', () => {
  it('defaults to 15m', () => {
    expect(pushTimeoutFromEnv({})).toEqual({ ms: DEFAULT_PUSH_TIMEOUT_MS, source: 'default' });
  });
  it('prefers SKIFF_PUSH_TIMEOUT, then CF_, then KF_', () => {
    expect(pushTimeoutFromEnv({ SKIFF_PUSH_TIMEOUT: '1m', CF_STARTUP_TIMEOUT: '2m', KF_STARTUP_TIMEOUT: '3m' })).toEqual({ ms: 60_000, source: 'SKIFF_PUSH_TIMEOUT' });
    expect(pushTimeoutFromEnv({ CF_STARTUP_TIMEOUT: '2m', KF_STARTUP_TIMEOUT: '3m' })).toEqual({ ms: 120_000, source: 'CF_STARTUP_TIMEOUT' });
    expect(pushTimeoutFromEnv({ KF_STARTUP_TIMEOUT: '3m' })).toEqual({ ms: 180_000, source: 'KF_STARTUP_TIMEOUT' });
  });
  it.each([['CF_STARTUP_TIMEOUT', 'ten minutes'], ['SKIFF_PUSH_TIMEOUT', '0'], ['KF_STARTUP_TIMEOUT', '-5s']])('a bad %s names the variable and an example', (name, value) => {
    expect(() => pushTimeoutFromEnv({ [name]: value })).toThrowError(expect.objectContaining({ code: 'SKIFF_E_DURATION', message: expect.stringMatching(new RegExp(`${name}=.*90s`)) }));
  });
});
