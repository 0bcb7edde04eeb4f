import { describe, expect, it } from 'vitest';
import { forwardFailureLevel } from '../src/targets/kubernetes/forward-failure.ts';

// What a real kubelet (v1.34, containerd) said on the error channel, seen in the test cluster.
const REFUSED =
  'error forwarding port 8080 to pod 4c79, uid : failed to execute portforward in network namespace "/run/netns/cni-1e": failed to connect to localhost:8080 inside namespace "4c79", IPv4: dial tcp4 127.0.0.1:8080: connect: connection refused IPv6 dial tcp6: address localhost: no suitable address found';
const RESET = 'error forwarding port 7070 to pod 0f0e, uid : exit status 1: socat[1] E connect(5, AF=2 127.0.0.1:7070, 16): Connection reset by peer';

describe('a failed forwarded connection in the daemon log', () => {
  it('is no warning when the app is not listening (starting or restarting)', () => {
    expect(forwardFailureLevel(true, REFUSED)).toBe('debug');
  });
  it('is a warning on the agent port, whatever it says', () => {
    expect(forwardFailureLevel(false, REFUSED)).toBe('warn');
  });
  it('is a warning on an app port for anything but a refused connection', () => {
    expect(forwardFailureLevel(true, RESET)).toBe('warn');
  });
});
