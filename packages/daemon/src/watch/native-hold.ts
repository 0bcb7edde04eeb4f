import { NATIVE_DEBOUNCE_MS } from '../core/coalesce.ts';

/** Period of "still moving" signals while the native watcher owes a delivery; well under the coalescer's QUIET_MS. */
export const OWED_HEARTBEAT_MS = 20;
/** @parcel/watcher delivers at the first event this long after its last delivery, quiet or not. */
export const NATIVE_MAX_HOLD_MS = 500;
/**
 * Longest @parcel/watcher holds an event it has read: it delivers after
 * NATIVE_DEBOUNCE_MS of quiet in the whole tree, or at the first event
 * NATIVE_MAX_HOLD_MS after its last delivery; plus margin. Past this, what
 * the probe saw was netted out (a file created and removed) and no delivery
 * is coming.
 */
export const NATIVE_HOLD_MAX_MS = NATIVE_MAX_HOLD_MS + 2 * NATIVE_DEBOUNCE_MS;

/**
 * Keeps the coalescer from ending a storm while the native watcher still
 * holds part of it.
 *
 * The burst probe sees only the directories it watches; a storm that moves
 * on to other directories goes silent there, though it goes on. What the
 * probe saw is, however, also pending in the native watcher, which delivers
 * it only after 50 ms of quiet in the WHOLE tree: so from the probe's first
 * raw event after a delivery until the next delivery has been turned into
 * events, the tree must be treated as moving. This sends a bare activity
 * signal every OWED_HEARTBEAT_MS during that time (bounded by
 * NATIVE_HOLD_MAX_MS), and the coalescer's quiet window cannot close under
 * it. A lone save owes nothing: its delivery is already in hand.
 */
export class NativeHold {
  private rawSince: number | null = null;
  private processing = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly signal: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The probe saw the tree move: a delivery is owed. */
  rawActivity(): void {
    if (this.closed) return;
    this.rawSince ??= this.now();
    this.signal();
    this.arm();
  }

  /** A native delivery arrived: it settles what was owed, and is owed itself until processed. */
  deliveryArrived(): void {
    if (this.closed) return;
    this.rawSince = null;
    this.processing++;
    this.signal();
    this.arm();
  }

  /**
   * A delivery has been turned into events (or dropped). Raw activity seen
   * while it was processed is signalled again now: before its events
   * reached the coalescer, that coalescer was idle and had to ignore a bare
   * signal, yet it is exactly what tells the first delivery of a storm from
   * a lone save.
   */
  deliveryProcessed(): void {
    if (this.processing > 0) this.processing--;
    if (!this.closed && this.owed()) this.signal();
  }

  close(): void {
    this.closed = true;
    this.stop();
  }

  private owed(): boolean {
    if (this.processing > 0) return true;
    if (this.rawSince !== null && this.now() - this.rawSince > NATIVE_HOLD_MAX_MS) this.rawSince = null;
    return this.rawSince !== null;
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      try {
        if (this.closed || !this.owed()) this.stop();
        else this.signal();
      } catch {
        // A missed signal only costs a split batch; it must not fail the timer.
      }
    }, OWED_HEARTBEAT_MS);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
