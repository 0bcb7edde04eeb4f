#!/usr/bin/env node
// Runs the bundled CLI (built by `npm ci`), or its TypeScript source through tsx
// in a checkout that was not built.
import { existsSync } from 'node:fs';

const bundled = new URL('../dist/skiff.js', import.meta.url);
if (existsSync(bundled)) {
  await import(bundled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/main.ts', import.meta.url).href);
}
