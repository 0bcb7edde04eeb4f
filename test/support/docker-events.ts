import type Docker from 'dockerode';
import { docker } from './docker-engine.ts';

/**
 * A container's exits as the engine reports them (its `die` events), for a
 * container that something else (a skiff session) may start again at once:
 * its inspect then already shows the next run, and a wait() sent at the same
 * time as the stop may be registered after it. The subscription is open when
 * this resolves, so an exit caused after that is never missed.
 */
export interface ExitWatch {
  /** The exit code of the container's next exit. */
  next: Promise<number>;
  close(): void;
}

export async function watchExits(container: Docker.Container): Promise<ExitWatch> {
  const { Id } = await container.inspect();
  const stream = (await docker.getEvents({ filters: { type: ['container'], container: [Id], event: ['die'] } })) as NodeJS.ReadableStream & { destroy(): void };
  let buffered = '';
  const next = new Promise<number>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        const event = JSON.parse(line) as { Action?: string; Actor?: { Attributes?: Record<string, string> } };
        if (event.Action === 'die') resolve(Number(event.Actor?.Attributes?.exitCode));
      }
    });
    stream.on('error', reject);
  });
  return { next, close: () => stream.destroy() };
}
