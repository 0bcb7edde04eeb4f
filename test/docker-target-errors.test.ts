import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lastJsonOf } from './support/cli-json.ts';
import { dockerSkipReason } from './support/docker-engine.ts';
import { derivedImage } from './support/docker-derived.ts';
import { useDockerFixture } from './support/docker-fixture.ts';
import { nodeImage } from './support/docker-images.ts';
import { setYaml, type DockerProject } from './support/docker-project.ts';
import { runSkiff } from './support/run-cli.ts';

/**
 * What goes wrong with a Docker project, as `skiff dev --json` and
 * `skiff push --json` report it: each a failure (exit 1) with a stable code
 * and a sentence naming the cause, printed once.
 */

const skip = await dockerSkipReason();

/** Far above any of these failures; a pull that hung would show here, not as a pass. */
const CLI_TIMEOUT_MS = 120_000;

describe.skipIf(skip !== null)('Docker target failures, through the skiff command', () => {
  let nodeTag: string;
  let project: DockerProject;
  beforeAll(async () => {
    nodeTag = (await nodeImage()).tag;
  });
  const fx = useDockerFixture(
    'errors',
    async (fx) => {
      project = await fx.example('hello-node', nodeTag);
    },
    { perTest: true },
  );

  /** `skiff dev --json` and `skiff push --json` of the project: both fail with `code`; their error objects. */
  async function bothFail(code: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Array<{ code: string; message: string }>> {
    const errors = [];
    for (const command of ['dev', 'push']) {
      const r = await runSkiff([command, project.dir, '--json'], { env: { ...fx.env, ...extraEnv }, timeoutMs: CLI_TIMEOUT_MS });
      const outcome = lastJsonOf(r);
      expect(outcome, `skiff ${command}: ${r.stdout}\n${r.stderr}`).toMatchObject({ ok: false, error: { code } });
      expect(r.code).toBe(1);
      errors.push(outcome.error!);
    }
    return errors;
  }

  it('no engine answers at DOCKER_HOST: SKIFF_E_TARGET_UNAVAILABLE, naming where it looked', async () => {
    for (const error of await bothFail('SKIFF_E_TARGET_UNAVAILABLE', { DOCKER_HOST: 'unix:///nonexistent.sock' })) {
      expect(error.message).toContain('unix:///nonexistent.sock');
      expect(error.message).toMatch(/start Docker|DOCKER_HOST/);
    }
  });

  it('the image is not on the engine and cannot be pulled: SKIFF_E_IMAGE_MISSING, naming the image', async () => {
    const image = `skiff-test-absent:${randomBytes(4).toString('hex')}`;
    await setYaml(project.dir, { image });
    for (const error of await bothFail('SKIFF_E_IMAGE_MISSING')) {
      expect(error.message).toContain(JSON.stringify(image));
      expect(error.message).toContain('"image" in skiff.yaml');
    }
  });

  describe('the app port is taken on this machine', () => {
    let holder: Server;
    beforeEach(async () => {
      holder = createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      await setYaml(project.dir, { ports: [`${(holder.address() as { port: number }).port}:8080`] });
    });
    afterEach(() => new Promise<void>((resolve) => holder.close(() => resolve())));

    it('SKIFF_E_PORT_IN_USE, naming the port and how to map another, printed once', async () => {
      const port = (holder.address() as { port: number }).port;
      for (const error of await bothFail('SKIFF_E_PORT_IN_USE')) {
        expect(error.message).toContain(`127.0.0.1:${port}`);
        expect(error.message).toContain('map another host port in skiff.yaml, e.g. ports: ["18080:8080"]');
      }
      const human = await fx.skiff(['dev', project.dir], CLI_TIMEOUT_MS);
      expect(human.code).toBe(1);
      expect(human.stderr.match(/\[SKIFF_E_PORT_IN_USE\]/g)).toHaveLength(1);
    });
  });

  it('the container exits at once (its user cannot reach workdir): SKIFF_E_AGENT_START with the container\'s last lines', async () => {
    // A real mistake: an image that runs as nobody, and a workdir under root's private home.
    const image = await derivedImage(nodeTag, ['USER nobody']);
    await setYaml(project.dir, { image, workdir: '/root/src' });
    for (const error of await bothFail('SKIFF_E_AGENT_START')) {
      expect(error.message).toContain(`container ${project.instance.name} exited (exit code 1)`);
      expect(error.message).toMatch(/its last lines:\n.*cannot use \/root\/src as the sync root: EACCES/);
      // The lines of this run only: push started the container dev had made, which keeps its earlier output.
      expect(error.message.match(/cannot use \/root\/src/g)).toHaveLength(1);
    }
  });

  it('target: dokcer: SKIFF_E_CONFIG naming the valid targets and the line', async () => {
    await setYaml(project.dir, { target: 'dokcer' });
    for (const error of await bothFail('SKIFF_E_CONFIG')) {
      expect(error.message).toMatch(/"target" must be one of "local", "docker"/);
      expect(error.message).toContain('got "dokcer"');
      expect(error.message).toMatch(/\(line \d+\)/);
    }
  });
});
