import { spawn } from 'node:child_process';
import { SKIFF_BIN } from './run-cli.ts';

/**
 * The URL a person reads in `skiff dev`'s own output ("App: http://..."),
 * from a terminal attached to the project's session; the terminal then
 * detaches (Ctrl-C) and the session goes on.
 */
export async function printedAppUrl(dir: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<string> {
  const child = spawn(process.execPath, [SKIFF_BIN, 'dev', dir], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`skiff dev printed no "App:" line within ${timeoutMs} ms:\n${out}`)), timeoutMs);
      child.stdout.setEncoding('utf8').on('data', (text: string) => {
        out += text;
        const m = /^App: (\S+)/m.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`skiff dev exited (${code}) before printing its URL:\n${out}`));
      });
    });
  } finally {
    child.kill('SIGINT');
    await exited;
  }
}
