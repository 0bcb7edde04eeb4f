import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { DevTerminal, privateRuntime, stopDaemon, type DevEvent } from './dev-session.ts';
import { RUN_ID, removeTestResources } from './docker-engine.ts';
import { agentImageGuard, dockerExample, dockerProjectIn, removeInstance, type DockerProject } from './docker-project.ts';
import { jsonOf, runSkiff, type CliResult } from './run-cli.ts';

/**
 * What every test file of the Docker target sets up and takes down, as
 * vitest hooks of the describe block that calls `useDockerFixture`: a temp
 * work directory and the agent image guard for the file; the projects
 * `setup` makes and a private runtime (daemon socket, cache) for the file,
 * or around each test with `perTest`. Taken down in the reverse order, each
 * step whatever the one before did: the `skiff dev` terminals detached, the
 * daemon stopped, each project's container and volumes removed, then what
 * this run labelled (images made by derivedImage), the agent image when the
 * file caused it, and the directories.
 */

/** The first start or push may build the agent image and fill its volume. */
export const FIRST_START_MS = 120_000;

export interface DockerFixture {
  /** The file's temp directory; each project is in a directory of its own under it. */
  readonly work: string;
  /** The environment of the user's terminal: the private runtime directory and cache. */
  readonly env: NodeJS.ProcessEnv;
  /** examples/`example` pointed at the Docker target (see dockerExample); removed at the end. */
  example(example: string, image: string, fields?: Record<string, unknown>): Promise<DockerProject>;
  /** A project of the test's own making, its skiff.yaml naming `name`, the Docker target and `image`; removed at the end. */
  project(name: string, image: string, fields?: Record<string, unknown>): Promise<DockerProject>;
  /** `skiff ARGS` in the user's terminal. */
  skiff(args: string[], timeoutMs?: number): Promise<CliResult>;
  /** `skiff dev PROJECT --json`, detached at the end. */
  dev(project: DockerProject): DevTerminal;
  /** `skiff dev` of the project, once its app runs: the terminal and the app.status event saying so. */
  devRunning(project: DockerProject): Promise<{ dev: DevTerminal; running: DevEvent }>;
  /** What `skiff status PROJECT --json` prints. */
  status<T>(project: DockerProject): Promise<T>;
}

class Fixture implements DockerFixture {
  private workDir: string | undefined;
  private runtime: { dir: string; env: NodeJS.ProcessEnv } | undefined;
  private agentImage: Awaited<ReturnType<typeof agentImageGuard>> | undefined;
  private readonly projects: DockerProject[] = [];
  private readonly terminals: DevTerminal[] = [];

  constructor(private readonly name: string) {}

  get work(): string {
    if (this.workDir === undefined) throw new Error('the Docker fixture is read before its beforeAll ran');
    return this.workDir;
  }

  get env(): NodeJS.ProcessEnv {
    if (this.runtime === undefined) throw new Error('the Docker fixture is read before its set-up ran');
    return this.runtime.env;
  }

  async openFile(): Promise<void> {
    this.workDir = await mkdtemp(join(tmpdir(), `skiff-docker-${this.name}-`));
    this.agentImage = await agentImageGuard();
  }

  async closeFile(): Promise<void> {
    await removeTestResources({ run: RUN_ID, images: true });
    await this.agentImage?.release();
    if (this.workDir) await rm(this.workDir, { recursive: true, force: true });
  }

  async openRuntime(): Promise<void> {
    this.runtime = await privateRuntime();
  }

  async closeRuntime(): Promise<void> {
    for (const t of this.terminals.splice(0)) await t.detach();
    if (this.runtime) await stopDaemon(this.runtime.env);
    for (const p of this.projects.splice(0)) await removeInstance(p.instance);
    if (this.runtime) await rm(this.runtime.dir, { recursive: true, force: true });
    this.runtime = undefined;
  }

  private async made(project: DockerProject): Promise<DockerProject> {
    this.projects.push(project);
    return project;
  }

  async example(example: string, image: string, fields: Record<string, unknown> = {}): Promise<DockerProject> {
    return this.made(await dockerExample(example, await mkdtemp(join(this.work, 'p-')), image, fields));
  }

  async project(name: string, image: string, fields: Record<string, unknown> = {}): Promise<DockerProject> {
    return this.made(await dockerProjectIn(join(await mkdtemp(join(this.work, 'p-')), name), name, image, fields));
  }

  skiff(args: string[], timeoutMs?: number): Promise<CliResult> {
    return runSkiff(args, { env: this.env, timeoutMs });
  }

  dev(project: DockerProject): DevTerminal {
    const t = new DevTerminal([project.dir], this.env);
    this.terminals.push(t);
    return t;
  }

  async devRunning(project: DockerProject): Promise<{ dev: DevTerminal; running: DevEvent }> {
    const dev = this.dev(project);
    const running = await dev.waitFor((e) => e.event === 'app.status' && e.data.state === 'running', FIRST_START_MS);
    return { dev, running };
  }

  async status<T>(project: DockerProject): Promise<T> {
    return jsonOf<T>(await this.skiff(['status', project.dir, '--json']));
  }
}

/**
 * Registers the hooks in the calling describe block and hands back the
 * fixture; `setup` makes the projects (through `example` or `project`),
 * once for the file or, with `perTest`, before each test.
 */
export function useDockerFixture(name: string, setup: (fx: DockerFixture) => Promise<void>, opts: { perTest?: boolean } = {}): DockerFixture {
  const fx = new Fixture(name);
  const open = async () => {
    await fx.openRuntime();
    await setup(fx);
  };
  if (opts.perTest) {
    beforeAll(() => fx.openFile());
    afterAll(() => fx.closeFile());
    beforeEach(open);
    afterEach(() => fx.closeRuntime());
  } else {
    beforeAll(async () => {
      await fx.openFile();
      await open();
    });
    afterAll(async () => {
      try {
        await fx.closeRuntime();
      } finally {
        await fx.closeFile();
      }
    });
  }
  return fx;
}
