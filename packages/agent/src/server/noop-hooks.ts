import type { AppHooks } from '../hooks.ts';

/** Hooks of an agent that supervises no app: commits go nowhere, no status or logs ever come. */
export const noopHooks: AppHooks = {
  committed() {},
  subscribe() {
    return () => {};
  },
};
