/**
 * Removes what the Docker tests made, labelled io.skiff.test, whichever run
 * made it. Test files remove their own containers and volumes; the app images
 * are kept between files and runs (keyed by content) and go here.
 *   npx tsx test/support/docker-cleanup.ts            containers, volumes and images
 *   npx tsx test/support/docker-cleanup.ts --images   images only (.ci/run, on exit)
 * Images still used by a container are left; with --images, so are the
 * containers and volumes of a run still going on the same engine.
 */
import { engineProblem, removeTestResources } from './docker-engine.ts';

const imagesOnly = process.argv.includes('--images');
const problem = await engineProblem();
if (problem !== null) {
  console.log(`docker-cleanup: nothing to do: ${problem}`);
} else {
  const removed = await removeTestResources({ images: true, imagesOnly });
  console.log(`docker-cleanup: removed ${removed.containers} containers, ${removed.volumes} volumes, ${removed.images} image tags labelled io.skiff.test`);
}
