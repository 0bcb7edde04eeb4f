export * from './config/duration.ts';
export * from './sync/push.ts';
export * from './sync/send-batch.ts';
export * from './targets/local.ts';
export * from './transport/agent-client.ts';
