import { createHash } from 'node:crypto';
import { tarOf } from '../../packages/daemon/src/targets/docker/archive.ts';
import { RUN_ID, RUN_LABEL, TEST_LABEL, docker, followProgress } from './docker-engine.ts';

/**
 * An image made from one of the test images by a few Dockerfile lines (USER,
 * RUN, ENV), built through the Engine API from a context holding the
 * Dockerfile alone: nothing is pulled, since the base is on the engine.
 * Labelled with this run, so `removeTestResources({ run: RUN_ID, images: true })`
 * removes it.
 */
const DERIVED_REPO = 'skiff-test-derived';
const DIGEST_HEX = 12;

export async function derivedImage(base: string, lines: readonly string[]): Promise<string> {
  const dockerfile = `FROM ${base}\n${lines.join('\n')}\n`;
  const tag = `${DERIVED_REPO}:${createHash('sha256').update(dockerfile).digest('hex').slice(0, DIGEST_HEX)}-${RUN_ID}`;
  const context = await tarOf([{ name: 'Dockerfile', mode: 0o644, content: Buffer.from(dockerfile) }]);
  const progress = await docker.buildImage(context as unknown as NodeJS.ReadableStream, { t: tag, labels: { [TEST_LABEL]: '1', [RUN_LABEL]: RUN_ID }, rm: true, forcerm: true });
  await followProgress(progress);
  return tag;
}
