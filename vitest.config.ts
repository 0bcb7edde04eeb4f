import { defineConfig } from 'vitest/config';

/**
 * Three tiers. `unit`: pure tables and in-process integration (real disks and
 * sockets), run in parallel. `e2e`: the programs as a user runs them (the
 * skiff command, the daemon, agents, apps, PID namespaces), one file at a
 * time, because their timing (a storm must stay one batch) should not depend
 * on what else the test runner happens to run on a two-core machine.
 * `cluster` (npm run test:cluster): the Kubernetes target on a real one-node
 * cluster built from source (test/cluster/); its set-up starts the cluster
 * when none is given and stops what it started.
 */
const CLUSTER = ['test/cluster/**/*.test.ts'];
const E2E = ['test/push-*.test.ts', 'test/daemon-*.test.ts', 'test/app-*.test.ts', 'test/pid1-*.test.ts', 'test/docker-*.test.ts', 'test/kube-target-*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...E2E, ...CLUSTER],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'e2e',
          include: E2E,
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'cluster',
          include: CLUSTER,
          globalSetup: ['test/cluster/setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
