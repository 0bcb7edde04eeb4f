// The `skiff` program: everything lives in cli.ts so tests can call it in-process.
import { setPushV8Flags } from '@skiff/daemon/v8-flags';
import { run } from './cli.ts';

// A one-shot push runs in this process.
setPushV8Flags();
await run();
