import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ANY_EVENT, SessionMethod, connectControl, type ControlConnection } from '@skiff/daemon/control';
import { DevTerminal, privateRuntime, stopDaemon, type DevEvent } from './support/dev-session.ts';
import { jsonOf, runSkiff } from './support/run-cli.ts';

/**
 * Fifty terminals on one session while a 5,000-file storm is synced: every
 * one of them receives the storm's sync.finished, with the same data as the
 * `skiff dev` terminal that started the session, and none falls behind far
 * enough to lose events. They are raw control connections (what `skiff dev`
 * speaks) rather than fifty CLI processes, which would measure process
 * start-up on two cores more than the daemon.
 */
const CLIENTS = 50;
const STORM_FILES = 5000;
const FILES_PER_DIR = 250;
const STORM_WAIT_MS = 60_000;

describe('many terminals on one session', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let runtimeDir: string;
  let project: string;
  let terminal: DevTerminal | undefined;
  const clients: ControlConnection[] = [];

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-daemon-clients-'));
    const runtime = await privateRuntime();
    runtimeDir = runtime.dir;
    env = runtime.env;
    project = join(work, 'project');
    await mkdir(project, { recursive: true });
    await writeFile(join(project, 'a.txt'), 'a\n');
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await terminal?.detach();
    await stopDaemon(env);
    await rm(work, { recursive: true, force: true });
    await rm(runtimeDir, { recursive: true, force: true });
  });

  it(`${CLIENTS} attached clients all receive the sync.finished of a ${STORM_FILES}-file storm`, { timeout: 120_000 }, async () => {
    terminal = new DevTerminal([project, '--local-root', join(work, 'agent-root')], env);
    await terminal.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'initial');
    const { session } = jsonOf<{ session: { root: string } }>(await runSkiff(['status', project, '--json'], { env }));

    const received: DevEvent[][] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const conn = await connectControl({ socketPath: join(runtimeDir, 'skiffd.sock') });
      clients.push(conn);
      const events: DevEvent[] = [];
      received.push(events);
      conn.on(ANY_EVENT, (data, event) => events.push({ event, data: data as Record<string, any> }));
    }
    await Promise.all(clients.map((c) => c.request(SessionMethod.ATTACH, { root: session.root })));
    const status = jsonOf<{ session: { clients: number } }>(await runSkiff(['status', project, '--json'], { env }));
    expect(status.session.clients).toBeGreaterThanOrEqual(CLIENTS + 1);

    /** Storm files per directory in the agent's root: says which ones never arrived. */
    const stormOnAgent = () => {
      const counts = [];
      for (let d = 0; d < STORM_FILES / FILES_PER_DIR; d++) {
        const dir = join(work, 'agent-root', 'storm', `d${d}`);
        counts.push(`d${d}=${existsSync(dir) ? readdirSync(dir).length : 'missing'}`);
      }
      return `storm files on the agent: ${counts.join(' ')}`;
    };

    const mark = terminal.events.length;
    const marks = received.map((events) => events.length);
    // Written as a git checkout writes: one file after another, no pause.
    for (let i = 0; i < STORM_FILES; i++) {
      if (i % FILES_PER_DIR === 0) mkdirSync(join(project, 'storm', `d${i / FILES_PER_DIR}`), { recursive: true });
      writeFileSync(join(project, 'storm', `d${Math.floor(i / FILES_PER_DIR)}`, `f${i}.txt`), `file ${i}\n`);
    }

    // Whatever the reason a sync ran for (a watch batch, or a rescan when a loaded machine made the watcher start over), the storm is done once its files were sent.
    const finished = (events: DevEvent[], from: number) => events.slice(from).filter((e) => e.event === 'sync.finished').map((e) => e.data);
    const uploaded = (events: DevEvent[], from: number) => finished(events, from).reduce((n, d) => n + d.uploaded, 0);
    await terminal.waitFor(() => uploaded(terminal!.events, mark) >= STORM_FILES, STORM_WAIT_MS, mark).catch((err: Error) => {
      throw new Error(`${err.message}\nsync.finished since the storm began: ${JSON.stringify(finished(terminal!.events, mark))}\n${stormOnAgent()}`);
    });
    const expected = finished(terminal.events, mark);

    const deadline = Date.now() + STORM_WAIT_MS;
    while (received.some((events, i) => uploaded(events, marks[i]) < STORM_FILES) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const late = received.map((events, i) => ({ client: i, uploaded: uploaded(events, marks[i]) })).filter((c) => c.uploaded < STORM_FILES);
    expect(late, 'clients that did not see the whole storm synced').toEqual([]);
    received.forEach((events, i) => {
      expect(events.filter((e) => e.event === 'lagged'), `client ${i} fell behind`).toEqual([]);
      expect(finished(events, marks[i]).slice(0, expected.length), `client ${i}`).toEqual(expected);
    });
  });
});
