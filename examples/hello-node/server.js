// A tiny HTTP app for trying skiff: edit the message and watch it change.
import { createServer } from 'node:http';
import { message } from './message.js';

const port = Number(process.env.PORT ?? 8080);
// Where to listen: skiff's container targets set HOST=0.0.0.0 so a published
// or forwarded port reaches the app; on this machine, loopback only.
const host = process.env.HOST ?? '127.0.0.1';
const started = new Date().toISOString();

const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${message}\n(started ${started}, pid ${process.pid})\n`);
}).listen(port, host, () => {
  console.log(`hello-node listening on http://${host}:${port}`);
});

// A graceful stop: finish what is in flight, then exit.
process.on('SIGTERM', () => {
  console.log('hello-node: SIGTERM, closing');
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
