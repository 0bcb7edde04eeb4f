// skiffd: the daemon program. Control plane from control/, sessions plugged in as handlers.
import { LOG_LEVEL_ENV, parseLogLevel, runDaemonProgram, streamLog } from './control/index.ts';
import { sessionHandlers } from './session/handlers.ts';
import { SessionRegistry } from './session/registry.ts';
import { setPushV8Flags } from './util/v8-flags.ts';

setPushV8Flags();

const registry = new SessionRegistry(streamLog(process.stderr, parseLogLevel(process.env[LOG_LEVEL_ENV])));
await runDaemonProgram({ handlers: sessionHandlers(registry), onStop: () => registry.stopAll() });
