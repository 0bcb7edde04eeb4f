import { describe, expect, it } from 'vitest';
import { resolveOwner, ROOT_OWNER } from '../src/targets/docker/user.ts';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\napp:x:1001:50::/app:/bin/sh\n';
const GROUP = 'root:x:0:\nstaff:x:50:\nnode:x:1000:\nnogroup:x:65534:\n';

describe('resolveOwner: Docker USER syntax as the numeric ids files put into the container get', () => {
  it.each([
    ['', ROOT_OWNER],
    ['root', ROOT_OWNER],
    ['node', { uid: 1000, gid: 1000 }],
    ['nobody', { uid: 65534, gid: 65534 }],
    ['app', { uid: 1001, gid: 50 }],
    ['1000', { uid: 1000, gid: 1000 }],
    // A uid that passwd does not list runs with group 0, as the engine does.
    ['4242', { uid: 4242, gid: 0 }],
    ['node:staff', { uid: 1000, gid: 50 }],
    ['node:4242', { uid: 1000, gid: 4242 }],
    ['4242:4343', { uid: 4242, gid: 4343 }],
    ['1001:nogroup', { uid: 1001, gid: 65534 }],
  ])('%j', (user, owner) => {
    expect(resolveOwner(user, PASSWD, GROUP)).toEqual(owner);
  });

  it('a name missing from the files is unknown (the engine refuses to start such a container itself)', () => {
    expect(resolveOwner('ghost', PASSWD, GROUP)).toBeNull();
    expect(resolveOwner('node:ghosts', PASSWD, GROUP)).toBeNull();
    expect(resolveOwner('node', null, null)).toBeNull();
  });

  it('numeric ids need no files (distroless images have none)', () => {
    expect(resolveOwner('65532:65532', null, null)).toEqual({ uid: 65532, gid: 65532 });
    expect(resolveOwner('65532', null, null)).toEqual({ uid: 65532, gid: 0 });
  });
});
