import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@skiff/protocol';
import { LEADING_MS, MAX_WAIT_MS } from '../src/core/coalesce.ts';
import { Batcher, watchBatches } from '../src/watch/batcher.ts';
import type { TreeWatcher, WatchEvent } from '../src/watch/types.ts';
import { watchTree } from '../src/watch/watch-tree.ts';
import { has, Recorder, rules, tempTree } from './watch-fixtures.ts';

const DIRS = 50;
const PER_DIR = 100;
const STORM_FILES = DIRS * PER_DIR;

/**
 * A storm the way git or npm makes it: another process writing 5,000 files
 * into 50 directories as fast as it can. `fresh` creates the directories
 * (an install), otherwise it rewrites existing files (a checkout).
 */
function storm(root: string, fresh: boolean): Promise<void> {
  const script = `
    const fs = require('fs'); const root = process.argv[1];
    for (let d = 0; d < ${DIRS}; d++) {
      ${fresh ? "fs.mkdirSync(root + '/d' + d);" : ''}
      for (let i = 0; i < ${PER_DIR}; i++) fs.writeFileSync(root + '/d' + d + '/f' + i + '.txt', 'new ' + i);
    }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, root], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`storm writer exited with ${code}`))));
  });
}

const stormFiles = () =>
  Array.from({ length: DIRS }, (_, d) => Array.from({ length: PER_DIR }, (_, i) => `d${d}/f${i}.txt`)).flat();

describe('watchBatches on a real tree', () => {
  let root: string;
  let dispose: () => Promise<void>;
  let watcher: TreeWatcher | null = null;
  beforeEach(async () => {
    ({ root, dispose } = await tempTree('batch'));
  });
  afterEach(async () => {
    await watcher?.close();
    watcher = null;
    await dispose();
  });

  async function batches(windows = {}): Promise<Recorder<string[]>> {
    const rec = new Recorder<string[]>();
    watcher = watchBatches(root, {
      isIgnored: rules(),
      onBatch: (paths) => rec.push([paths]),
      onError: rec.error,
      windows,
    });
    await watcher.ready;
    return rec;
  }

  it('sends one save as a batch of that path, promptly', async () => {
    const rec = await batches();
    const t0 = performance.now();
    await writeFile(join(root, 'app.js'), 'console.log(1)');
    await rec.until((b) => b.length >= 1, 'the batch');
    const latency = performance.now() - t0;
    expect(rec.items[0]).toEqual(['app.js']);
    // The leading window is LEADING_MS; the rest is the kernel, the native
    // thread and this process's event loop (slow only on a loaded machine).
    expect(latency).toBeLessThan(250);
    expect(rec.errors).toEqual([]);
  });

  it('sends one save as a batch in polling mode too', async () => {
    const rec = new Recorder<string[]>();
    watcher = watchBatches(root, {
      isIgnored: rules(),
      poll: { intervalMs: 50 },
      onBatch: (paths) => rec.push([paths]),
      onError: rec.error,
    });
    await watcher.ready;
    await writeFile(join(root, 'app.js'), 'x');
    await rec.until((b) => b.length >= 1, 'the batch');
    expect(rec.items[0]).toEqual(['app.js']);
    expect(rec.errors).toEqual([]);
  });

  // On a loaded machine the writer is descheduled for tens of ms at a time:
  // longer than LEADING_MS right after its first file (the storm then looks
  // like a lone save), and longer than MAX_WAIT_MS in total (cutting the
  // storm is then by design). These two prove the merging of what the
  // native watcher splits, so they give the writer that room; QUIET_MS,
  // COOL_MS and everything else are the defaults. measure-watch.ts measures
  // the default windows.
  const ROOMY = { leadingMs: 10 * LEADING_MS, maxWaitMs: 10 * MAX_WAIT_MS };
  // A writer starved for longer than QUIET_MS mid-storm (seen at a load
  // average of 8 on two cores) ends the storm, as it should: the test is
  // retried then, and a real regression fails every attempt.
  const STORM_RETRIES = 2;

  it.each([
    { name: 'into 50 new directories', fresh: true },
    { name: 'rewriting files in 50 existing directories', fresh: false },
  ])('sends a 5,000-file storm $name as ONE batch', { retry: STORM_RETRIES }, async ({ fresh }) => {
    if (!fresh) {
      for (let d = 0; d < DIRS; d++) {
        mkdirSync(join(root, `d${d}`));
        for (let i = 0; i < PER_DIR; i++) writeFileSync(join(root, `d${d}/f${i}.txt`), 'old');
      }
    }
    const rec = await batches(ROOMY);
    await storm(root, fresh);
    await rec.until((b) => b.length >= 1, 'the storm batch');
    // Stragglers of the storm would come before or with a later change:
    // a sentinel that arrives alone proves there were none.
    await writeFile(join(root, 'sentinel.txt'), 'x');
    await rec.until((b) => b.some((paths) => paths.includes('sentinel.txt')), 'the sentinel batch');
    expect(rec.items.map((b) => b.length)).toEqual([fresh ? STORM_FILES + DIRS : STORM_FILES, 1]);
    const [stormBatch] = rec.items;
    expect(stormBatch).toEqual(expect.arrayContaining(stormFiles()));
    expect(rec.items[1]).toEqual(['sentinel.txt']);
    expect(rec.errors).toEqual([]);
  });
});

describe('Batcher with a real watcher', () => {
  let root: string;
  let dispose: () => Promise<void>;
  const open: Array<{ close(): Promise<void> }> = [];
  beforeEach(async () => {
    ({ root, dispose } = await tempTree('batcher'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((o) => o.close()));
    await dispose();
  });

  /** A Batcher fed by a watcher whose events are also recorded. */
  async function wire(onBatch: (paths: string[]) => Promise<void> | void) {
    const events = new Recorder<WatchEvent>();
    const errors = new Recorder<never>();
    const batcher = new Batcher({ onBatch, onError: errors.error });
    const watcher = watchTree(root, {
      isIgnored: rules(),
      onEvents: (e) => {
        events.push(e);
        batcher.events(e);
      },
      onActivity: () => batcher.activity(),
      onError: errors.error,
    });
    open.push(watcher, batcher);
    await watcher.ready;
    return { events, errors };
  }

  it('queues what changes during a batch in flight into exactly one follow-up batch', async () => {
    const sent = new Recorder<string[]>();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { events, errors } = await wire(async (paths) => {
      sent.push([paths]);
      if (sent.items.length === 1) await gate;
    });
    await writeFile(join(root, 'first.txt'), '1');
    await sent.until((b) => b.length === 1, 'the first batch');
    for (const name of ['a.txt', 'b.txt', 'c.txt']) await writeFile(join(root, name), name);
    await events.until((e) => ['a.txt', 'b.txt', 'c.txt'].every((p) => has('any', p)(e)), 'the events');
    expect(sent.items).toHaveLength(1);
    release();
    await sent.until((b) => b.length === 2, 'the follow-up batch');
    await writeFile(join(root, 'sentinel.txt'), 'x');
    await sent.until((b) => b.length === 3, 'the sentinel batch');
    expect(sent.items[0]).toEqual(['first.txt']);
    // writeFile truncates then writes: the native watcher may report the
    // second step of first.txt in a later delivery, which joins this batch.
    expect(sent.items[1].filter((p) => p !== 'first.txt')).toEqual(['a.txt', 'b.txt', 'c.txt']);
    expect(sent.items[2]).toEqual(['sentinel.txt']);
    expect(errors.errors).toEqual([]);
  });

  it('reports a failed batch through onError and keeps going', async () => {
    const sent = new Recorder<string[]>();
    const { errors } = await wire((paths) => {
      sent.push([paths]);
      if (sent.items.length === 1) throw new Error('agent went away');
    });
    await writeFile(join(root, 'one.txt'), '1');
    await errors.until(() => errors.errors.length === 1, 'the error');
    expect(errors.errors[0]).toMatchObject({ name: 'SkiffError', code: ErrorCode.IO, message: 'agent went away' });
    await writeFile(join(root, 'two.txt'), '2');
    await sent.until((b) => b.some((p) => p.includes('two.txt')), 'the next batch');
    expect(sent.items[0]).toEqual(['one.txt']);
  });
});
