/**
 * Ctrl-C (SIGINT) and SIGTERM while a command wants to end on its own terms:
 * `skiff dev` detaches, `skiff logs -f` stops following, a one-shot
 * `skiff push` stops the agent it started before exiting. Between arm and
 * dispose the signals do not kill the process; after dispose, Node's default
 * applies again.
 */
export const INTERRUPT_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type InterruptSignal = (typeof INTERRUPT_SIGNALS)[number];

export interface Interrupt {
  /** Settles with the first signal received. */
  readonly received: Promise<InterruptSignal>;
  /** The signal received so far, if any. */
  readonly signal: InterruptSignal | undefined;
  dispose(): void;
}

export function armInterrupt(): Interrupt {
  let signal: InterruptSignal | undefined;
  let settle!: (s: InterruptSignal) => void;
  const received = new Promise<InterruptSignal>((resolve) => (settle = resolve));
  const handlers = INTERRUPT_SIGNALS.map((s) => {
    const handler = () => {
      signal ??= s;
      settle(s);
    };
    process.on(s, handler);
    return [s, handler] as const;
  });
  return {
    received,
    get signal() {
      return signal;
    },
    dispose() {
      for (const [s, handler] of handlers) process.off(s, handler);
    },
  };
}
