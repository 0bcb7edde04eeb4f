/**
 * Removes every container, volume and image the Docker tests made (all that
 * carries io.skiff.test), whichever run made it. Test files remove their own
 * containers and volumes; the base images are kept between files and runs
 * (keyed by content) and go here. .ci/run calls it on exit; by hand:
 *   npx tsx test/support/docker-cleanup.ts
 */
import { engineProblem, removeTestResources } from './docker-engine.ts';

const problem = await engineProblem();
if (problem !== null) {
  console.log(`docker-cleanup: nothing to do: ${problem}`);
} else {
  const removed = await removeTestResources({ images: true });
  console.log(`docker-cleanup: removed ${removed.containers} containers, ${removed.volumes} volumes, ${removed.images} image tags labelled io.skiff.test`);
}
