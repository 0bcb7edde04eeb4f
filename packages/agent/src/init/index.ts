export { installInit, FORWARDED_SIGNALS, SHUTDOWN_SIGNALS, type InitOptions, type SupervisedApp } from './init.ts';
export { shutdownExitCode, signalNumber, type AppEnd } from './exit-code.ts';
export { Reaper, startReaping, selectReapable, REAP_CONFIRM_MS, REAP_ENV_VAR, REAP_SWEEP_INTERVAL_MS, type ReapedProcess, type ReapingHandle } from './reaper.ts';
export { loadReaperAddon, addonCandidates, REAPER_ADDON_VAR, type ReaperAddon } from './addon.ts';
export { parseProcStat, type ProcStat } from './proc-stat.ts';
export { listZombieChildren } from './zombies.ts';
export { readProcTable } from './proc-table.ts';
export { trackOwnChild, isOwnChild, ownChildren } from './own-children.ts';
