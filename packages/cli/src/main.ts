// The `skiff` program: everything lives in cli.ts so tests can call it in-process.
import { run } from './cli.ts';

await run();
