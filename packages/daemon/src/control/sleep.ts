/**
 * A pause, for the CLI's side of the control socket. node:timers/promises
 * would do the same, at the cost of one more module that every `skiff`
 * command loads at its start.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
