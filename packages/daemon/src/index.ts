export * from './config/project.ts';
export * from './config/duration.ts';
export * from './sync/push.ts';
export * from './sync/send-batch.ts';
export * from './targets/local.ts';
export * from './targets/root-overlap.ts';
export { Session, type SessionOptions } from './session/session.ts';
export * from './transport/agent-client.ts';
