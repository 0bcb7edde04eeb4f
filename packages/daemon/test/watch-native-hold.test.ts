import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NATIVE_HOLD_MAX_MS, NativeHold, OWED_HEARTBEAT_MS } from '../src/watch/native-hold.ts';

describe('NativeHold', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function hold() {
    let signals = 0;
    const h = new NativeHold(
      () => signals++,
      () => Date.now(),
    );
    return { h, signals: () => signals };
  }

  it('signals on raw activity and keeps signalling until a delivery is processed', () => {
    const { h, signals } = hold();
    h.rawActivity();
    expect(signals()).toBe(1);
    vi.advanceTimersByTime(5 * OWED_HEARTBEAT_MS);
    expect(signals()).toBe(6);
    h.deliveryArrived(); // settles the raw activity, but is owed until processed
    expect(signals()).toBe(7);
    vi.advanceTimersByTime(2 * OWED_HEARTBEAT_MS);
    expect(signals()).toBe(9);
    h.deliveryProcessed();
    vi.advanceTimersByTime(10 * OWED_HEARTBEAT_MS);
    expect(signals()).toBe(9);
  });

  it('re-signals raw activity seen while a delivery was processed', () => {
    const { h, signals } = hold();
    h.deliveryArrived();
    h.rawActivity();
    const before = signals();
    h.deliveryProcessed();
    expect(signals()).toBe(before + 1);
  });

  it('gives up after NATIVE_HOLD_MAX_MS when no delivery comes', () => {
    const { h, signals } = hold();
    h.rawActivity();
    vi.advanceTimersByTime(NATIVE_HOLD_MAX_MS + 3 * OWED_HEARTBEAT_MS);
    const settled = signals();
    vi.advanceTimersByTime(10 * OWED_HEARTBEAT_MS);
    expect(signals()).toBe(settled);
    expect(settled).toBeLessThanOrEqual(2 + NATIVE_HOLD_MAX_MS / OWED_HEARTBEAT_MS);
  });

  it('a lone delivery owes nothing once processed', () => {
    const { h, signals } = hold();
    h.deliveryArrived();
    h.deliveryProcessed();
    const after = signals();
    vi.advanceTimersByTime(10 * OWED_HEARTBEAT_MS);
    expect(signals()).toBe(after);
  });

  it('is silent once closed', () => {
    const { h, signals } = hold();
    h.rawActivity();
    h.close();
    vi.advanceTimersByTime(10 * OWED_HEARTBEAT_MS);
    h.rawActivity();
    expect(signals()).toBe(1);
  });
});
