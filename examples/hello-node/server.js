// A tiny HTTP app for trying skiff: edit the message and watch it change.
import { createServer } from 'node:http';
import { message } from './message.js';

const port = Number(process.env.PORT ?? 8080);
const started = new Date().toISOString();

createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${message}\n(started ${started}, pid ${process.pid})\n`);
}).listen(port, '127.0.0.1', () => {
  console.log(`hello-node listening on http://127.0.0.1:${port}`);
});

process.on('SIGTERM', () => process.exit(0));
