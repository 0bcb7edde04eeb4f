import { watchWithPolling } from '../src/watch/poll.ts';
import { watchContract } from './watch-contract.ts';

/** Short period so that the contract runs quickly; the default is DEFAULT_POLL_INTERVAL_MS. */
const TEST_POLL_MS = 50;

watchContract('poll', (root, opts) => watchWithPolling(root, opts, TEST_POLL_MS));
