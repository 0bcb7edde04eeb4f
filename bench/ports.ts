import { connect, createServer } from 'node:net';

/** How often, and how long, to try a port that a just-started server will open. */
const PORT_POLL_MS = 10;

/** A port free on 127.0.0.1 right now (the kernel's pick for port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once something accepts connections on the port; rejects after `timeoutMs` or when `gone()` says the server died. */
export async function waitForPort(port: number, timeoutMs: number, gone: () => string | null): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await accepts(port)) return;
    const why = gone();
    if (why) throw new Error(why);
    if (performance.now() > deadline) throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, PORT_POLL_MS));
  }
}
