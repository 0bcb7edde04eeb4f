import { describe, expect, it } from 'vitest';
import { Handover } from '../src/util/handover.ts';

async function collect<T>(h: Handover<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const part of h) out.push(part);
  return out;
}

describe('Handover', () => {
  it('gives the parts pushed before and after the consumer starts, in order, then ends', async () => {
    const h = new Handover<number>();
    h.push(1);
    h.push(2);
    const got = collect(h);
    await new Promise((r) => setImmediate(r));
    h.push(3);
    await new Promise((r) => setImmediate(r));
    h.push(4);
    h.end();
    h.push(5); // after the end: dropped
    expect(await got).toEqual([1, 2, 3, 4]);
  });

  it('a failure reaches the consumer after the parts already handed over', async () => {
    const h = new Handover<string>();
    const seen: string[] = [];
    const consumer = (async () => {
      for await (const part of h) seen.push(part);
    })();
    h.push('a');
    h.fail(new Error('the walk failed'));
    h.end(); // a later end does not hide the failure
    await expect(consumer).rejects.toThrow('the walk failed');
    expect(seen).toEqual(['a']);
  });

  it('a consumer waiting on an empty handover wakes for the end', async () => {
    const h = new Handover<number>();
    const got = collect(h);
    await new Promise((r) => setTimeout(r, 5));
    h.end();
    expect(await got).toEqual([]);
  });
});
