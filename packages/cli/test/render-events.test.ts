import { describe, expect, it } from 'vitest';
import { SessionEvent } from '@skiff/daemon/control';
import { renderEvent } from '../src/render/events.ts';
import { makeStyle } from '../src/render/style.ts';

const plain = makeStyle(false);

describe('renderEvent: sync.started', () => {
  it('says how many paths a full sync checks', () => {
    expect(renderEvent(SessionEvent.SYNC_STARTED, { batch: 2, reason: 'verify', paths: 1200 }, plain)).toBe('⟳ verify sync: checking 1,200 paths');
  });

  it('says the project goes out as it is scanned when the count is not known yet', () => {
    expect(renderEvent(SessionEvent.SYNC_STARTED, { batch: 1, reason: 'initial', paths: 0, scanning: true }, plain)).toBe('⟳ initial sync: sending the project as it is scanned');
  });

  it('prints nothing for a watch batch', () => {
    expect(renderEvent(SessionEvent.SYNC_STARTED, { batch: 3, reason: 'watch', paths: 2 }, plain)).toBeNull();
  });
});
