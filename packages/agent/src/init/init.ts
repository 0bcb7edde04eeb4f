import { AGENT_SHUTDOWN_DEADLINE_MS } from '@skiff/protocol';
import { shutdownExitCode, type AppEnd } from './exit-code.ts';
import { startReaping, type ReapedProcess } from './reaper.ts';

/** Signals that go to the app's process group as they are (reload, log reopen, thread dumps: the app decides what they mean). */
export const FORWARDED_SIGNALS = ['SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;
/** Signals that stop the app with that same signal, then the agent. */
export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** What init needs from the supervisor. */
export interface SupervisedApp {
  forwardSignal(signal: NodeJS.Signals): boolean;
  shutdown(signal: NodeJS.Signals): Promise<AppEnd | null>;
  kill(): void;
}

export interface InitOptions {
  supervisor: SupervisedApp;
  log: (message: string) => void;
  /** Default process.env: SKIFF_AGENT_REAP=1 turns reaping on outside PID 1. */
  env?: NodeJS.ProcessEnv;
  /** Default process.exit. */
  exit?: (code: number) => void;
  /** Runs after the app stopped, before exit: close servers, flush. */
  onShutdown?: () => Promise<void> | void;
  onReaped?: (reaped: ReapedProcess) => void;
  /** Bound on the whole shutdown (app stop plus `onShutdown`); default AGENT_SHUTDOWN_DEADLINE_MS. */
  shutdownDeadlineMs?: number;
}

/**
 * PID-1 duties: signals and zombies.
 *
 * As PID 1 the kernel delivers only the signals we handle (the default action
 * of every other signal is ignored for init), so each signal the agent should
 * react to needs a listener here:
 * - FORWARDED_SIGNALS go to the app's process group as they are;
 * - SHUTDOWN_SIGNALS stop the app with that same signal (SIGKILL after the
 *   grace period, APP_STOP_GRACE_MS), then the agent exits with the code from
 *   exit-code.ts; a second shutdown signal kills the app at once. Past
 *   AGENT_SHUTDOWN_DEADLINE_MS the agent exits anyway, since an init that
 *   hangs keeps the container from stopping.
 * A SIGUSR1 listener also keeps Node from opening its inspector on SIGUSR1
 * (measured), which a container must not do.
 */
export function installInit(options: InitOptions): { dispose(): void } {
  const { supervisor, log } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const reaping = startReaping({ log, env: options.env, onReaped: options.onReaped });
  let shuttingDown = false;

  const forward = (signal: NodeJS.Signals): void => {
    if (!supervisor.forwardSignal(signal)) log(`received ${signal}; no app is running to forward it to`);
  };

  const shutdown = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      log(`received ${signal} again: killing the app now`);
      supervisor.kill();
      return;
    }
    shuttingDown = true;
    log(`received ${signal}: stopping the app`);
    const deadline = setTimeout(() => {
      log(`shutdown took longer than ${options.shutdownDeadlineMs ?? AGENT_SHUTDOWN_DEADLINE_MS} ms: exiting anyway`);
      supervisor.kill();
      exit(shutdownExitCode(signal, { code: null, signal: null, lost: true }));
    }, options.shutdownDeadlineMs ?? AGENT_SHUTDOWN_DEADLINE_MS);
    void (async () => {
      let end: AppEnd | null = null;
      try {
        end = await supervisor.shutdown(signal);
      } catch (err) {
        log(`stopping the app failed: ${(err as Error).message}`);
      }
      try {
        await options.onShutdown?.();
      } catch (err) {
        log(`shutdown step failed: ${(err as Error).message}`);
      }
      // Collect what the app's group left behind before exiting.
      reaping.reaper?.sweep();
      clearTimeout(deadline);
      const code = shutdownExitCode(signal, end);
      log(`exiting with code ${code}`);
      exit(code);
    })();
  };

  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const signal of FORWARDED_SIGNALS) handlers.set(signal, () => forward(signal));
  for (const signal of SHUTDOWN_SIGNALS) handlers.set(signal, () => shutdown(signal));
  for (const [signal, handler] of handlers) process.on(signal, handler);

  return {
    dispose() {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      reaping.stop();
    },
  };
}
