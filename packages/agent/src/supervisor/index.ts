export { Supervisor, appEnvironment, describeExit, type OutputSink, type SupervisorOptions } from './supervisor.ts';
export { APP_CONFIG_VAR, appConfigFromEnv, parseAppConfig, type AppConfig } from './config.ts';
export * from './constants.ts';
export { BatchAction, decideBatch, type BatchDecision, type BatchFacts } from './decide.ts';
export { backoffDelay, nextFailures } from './backoff.ts';
export { compilePatterns, allMatch, someMatch, type PathMatcher } from './patterns.ts';
export { LogBacklog, type LogEntry } from './backlog.ts';
export { resolveCommands, S2I_ASSEMBLE, S2I_RUN, CommandSource, shellQuote } from './commands.ts';
export { groupHasLiveMembers, signalGroup, spawnGroup, stopGroup, type ExitInfo, type GroupProcess, type StopResult } from './process-group.ts';
