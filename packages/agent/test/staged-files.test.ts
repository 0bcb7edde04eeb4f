import { mkdirSync, mkdtempSync, readFileSync, rmSync, lstatSync, symlinkSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FRAME_PREFIX_BYTES, Kind, decodeFrameAt, entryLine, loadHasher, type FileHeader, type Hasher } from '@skiff/protocol';
import { addonCandidates } from '../src/init/addon.ts';
import { fileEntry } from '../src/manifest/entries.ts';
import { RECORD_FIELDS, Rec, loadStagedFiles } from '../src/native-fs/staged-files.ts';

/*
 * The addon's frame scan and staged writes (native/staged-files.c). What must
 * hold: a frame it marks fast is one the decoder accepts with the very same
 * fields, a whole file, at the boundaries the decoder finds; the headers the
 * daemon writes for whole files are all marked fast (else the addon would
 * never be used); what it writes is what writeNewFile writes, only under real
 * directories and never over anything; and the line hash it gives is the
 * protocol hasher's, for lines of every length (its XXH64 is its own).
 * Skipped when the addon was not built: every frame is decoded in
 * JavaScript then.
 */
const addon = loadStagedFiles(addonCandidates());

let hasher: Hasher;
beforeAll(async () => {
  hasher = await loadHasher();
});

const enc = new TextEncoder();
const MAX_RECORDS = 64;

function frame(kind: number, head: string, payload: Uint8Array = new Uint8Array(0), lie?: number): Uint8Array {
  const h = enc.encode(head);
  const out = new Uint8Array(FRAME_PREFIX_BYTES + h.length + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind);
  view.setUint32(1, h.length);
  view.setUint32(5, lie ?? payload.length);
  out.set(h, FRAME_PREFIX_BYTES);
  out.set(payload, FRAME_PREFIX_BYTES + h.length);
  return out;
}

function header(path: string, size: number, over: Partial<FileHeader> = {}): FileHeader {
  return { batch: 3, path, size, mode: 0o644, mtime: 1_700_000_000_123.25, hash: '0123456789abcdef', offset: 0, ...over };
}

function scan(message: Uint8Array): Float64Array[] {
  const records = new Float64Array(MAX_RECORDS * RECORD_FIELDS);
  const n = addon!.scanFrames(message, records);
  return Array.from({ length: n }, (_, i) => records.subarray(i * RECORD_FIELDS, (i + 1) * RECORD_FIELDS));
}

let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

const NAMES = ['a', 'b.txt', '.skiff-tmp-x', 'x.skiff-tmp-', '..', '.', '', 'c:x', 'a:b', 'é', 'q"t', 'b\\s', 'tab\tx', 'n'.repeat(255), 'n'.repeat(256), ' sp ', '~', 'x\u0000y', '\u2028'];

/** A path from the names above, valid or not, now and then very long. */
function randomPath(): string {
  if (rand() < 0.05) return `${'d/'.repeat(2047)}f`.slice(0, rand() < 0.5 ? 4096 : 4097);
  const parts = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(NAMES));
  let p = parts.join('/');
  if (rand() < 0.1) p = `/${p}`;
  if (rand() < 0.1) p = `${p}/`;
  return p;
}

const NUMBERS = [0, 1, 7, 0o644, 0o7777, 0o10000, 2 ** 53 - 1, 2 ** 53, 1.5, -1, 1e21, 1e-7, 1_700_000_000_000.123, 123.4567890123];

/** A FILE header: what JSON.stringify gives a random one, or that text bent out of the one layout. */
function randomHead(payloadLength: number): string {
  const h: Record<string, unknown> = { ...header(randomPath(), rand() < 0.8 ? payloadLength : pick(NUMBERS), {
    batch: rand() < 0.8 ? 3 : pick(NUMBERS),
    mode: rand() < 0.7 ? pick([0o644, 0o755, 0o600, 0o4755]) : pick(NUMBERS),
    mtime: rand() < 0.7 ? Math.floor(rand() * 2e12) + Math.floor(rand() * 1e6) / 1e6 : pick(NUMBERS),
    hash: rand() < 0.9 ? '0123456789abcdef' : pick(['0123456789ABCDEF', '0123', 'g123456789abcdef', '0123456789abcdef0']),
    offset: rand() < 0.9 ? 0 : pick(NUMBERS),
  }) };
  let text = JSON.stringify(h);
  const bend = rand();
  if (bend < 0.05) text = text.replace('{', '{ ');
  else if (bend < 0.1) text = JSON.stringify({ path: h.path, ...h });
  else if (bend < 0.15) text = text.replace('"path":"', '"path":"\\u0061');
  else if (bend < 0.2) text = text.replace('}', ',"extra":1}');
  else if (bend < 0.25) text = text.replace('}', ',"batch":4}');
  else if (bend < 0.3) text = text.replace('"mtime":', '"mtime":0');
  else if (bend < 0.33) text = text.slice(0, -1);
  else if (bend < 0.36) text = text.replace(/"size":(\d+)/, '"size":$1.0');
  return text;
}

describe.skipIf(addon === null)('the addon frame scan', () => {
  it('marks fast only frames the decoder takes with the same fields, and every whole file the daemon writes', () => {
    let fast = 0;
    for (let i = 0; i < 20_000; i++) {
      const payload = enc.encode('x'.repeat(Math.floor(rand() * 40)));
      const head = randomHead(payload.length);
      const message = frame(rand() < 0.95 ? Kind.FILE : Kind.SPAN, head, payload);
      const [rec] = scan(message);
      expect(rec[Rec.START]).toBe(0);
      expect(rec[Rec.END]).toBe(message.length);
      let decoded: ReturnType<typeof decodeFrameAt> | null = null;
      try {
        decoded = decodeFrameAt(message, 0);
      } catch {
        // Refused by the decoder: the addon must not have taken it.
      }
      if (rec[Rec.FAST] === 1) {
        fast++;
        expect(decoded, head.slice(0, 300)).not.toBeNull();
        const h = decoded!.frame.header as FileHeader;
        expect(decoded!.frame.kind).toBe(Kind.FILE);
        const text = Buffer.from(message);
        expect(text.toString('latin1', rec[Rec.PATH], rec[Rec.PATH] + rec[Rec.PATH_LEN])).toBe(h.path);
        expect(text.toString('latin1', rec[Rec.HASH], rec[Rec.HASH] + 16)).toBe(h.hash);
        expect([rec[Rec.SIZE], rec[Rec.MODE], rec[Rec.MTIME], rec[Rec.BATCH]]).toEqual([h.size, h.mode, h.mtime, h.batch]);
        expect(h.offset).toBe(0);
        expect(h.size).toBe(payload.length);
        expect(h.path.split('/').at(-1)!.startsWith('.skiff-tmp-')).toBe(false);
      } else if (decoded !== null && decoded.frame.kind === Kind.FILE) {
        // Taken by the decoder, left by the addon: only when it is not what the daemon writes for a whole file.
        const h = decoded.frame.header as FileHeader;
        const { batch, path, size, mode, mtime, hash, offset } = h;
        const daemonWrites = head === JSON.stringify({ batch, path, size, mode, mtime, hash, offset }) && offset === 0 && size === payload.length;
        const plain = /^[\x20-\x7e]*$/.test(h.path) && !h.path.includes('"') && h.path[1] !== ':' && !h.path.split('/').at(-1)!.startsWith('.skiff-tmp-');
        expect(daemonWrites && plain, head.slice(0, 300)).toBe(false);
      }
    }
    expect(fast).toBeGreaterThan(500);
  });

  it('splits a message at the boundaries the decoder finds, and stops where a prefix is out of bounds', () => {
    const a = frame(Kind.MKDIR, JSON.stringify({ batch: 3, path: 'd', mode: 0o755 }));
    const b = frame(Kind.FILE, JSON.stringify(header('d/f', 3)), enc.encode('abc'));
    const c = frame(Kind.COMMIT, JSON.stringify({ batch: 3 }));
    const whole = Buffer.concat([a, b, c]);
    const recs = scan(whole);
    expect(recs.map((r) => [r[Rec.START], r[Rec.END], r[Rec.FAST]])).toEqual([
      [0, a.length, 0],
      [a.length, a.length + b.length, 1],
      [a.length + b.length, whole.length, 0],
    ]);
    // Cut short, a header over the limit, a payload over the limit: the scan stops before the frame.
    expect(scan(whole.subarray(0, whole.length - 1))).toHaveLength(2);
    expect(scan(Buffer.concat([a, frame(Kind.FILE, '{}', new Uint8Array(0), 2 * 1024 * 1024)]))).toHaveLength(1);
    const bigHead = Buffer.from(a);
    new DataView(bigHead.buffer, bigHead.byteOffset).setUint32(1, 64 * 1024 + 1);
    expect(scan(bigHead)).toHaveLength(0);
    // More frames than records: the scan fills what it has.
    expect(scan(Buffer.concat(Array.from({ length: MAX_RECORDS + 5 }, () => c)))).toHaveLength(MAX_RECORDS);
  });
});

describe.skipIf(addon === null)('the addon staged writes', () => {
  let stage: string;
  beforeEach(() => {
    stage = mkdtempSync(join(tmpdir(), 'skiff-staged-files-'));
  });
  afterEach(() => rmSync(stage, { recursive: true, force: true }));

  /** One message of whole FILE frames, scanned; the records of all of them. */
  function message(files: Array<{ path: string; data: Uint8Array; mode?: number; mtime?: number }>): { bytes: Buffer; records: Float64Array } {
    const bytes = Buffer.concat(files.map((f) => frame(Kind.FILE, JSON.stringify(header(f.path, f.data.length, { mode: f.mode ?? 0o644, mtime: f.mtime ?? 1_700_000_000_123.25, hash: hasher.h64Bytes(f.data) })), f.data)));
    const records = new Float64Array(MAX_RECORDS * RECORD_FIELDS);
    expect(addon!.scanFrames(bytes, records)).toBe(files.length);
    return { bytes, records };
  }

  it('writes content, mode and mtime as writeNewFile does, and the line hash the hasher gives, for lines of every length', () => {
    const files = Array.from({ length: 60 }, (_, i) => ({
      // Paths from 1 to 60 bytes: lines of ~25 to ~85 bytes, across XXH64's 32-byte stripes and its 8, 4 and 1-byte tails.
      path: 'p'.repeat(i + 1),
      data: enc.encode('z'.repeat(i * 37)),
      mode: [0o644, 0o600, 0o777, 0o755][i % 4],
      mtime: 1_600_000_000_000 + i * 1_000.5,
    }));
    const { bytes, records } = message(files);
    expect(addon!.writeStagedFiles(bytes, records, 0, files.length, stage, process.umask())).toBe(files.length);
    files.forEach((f, i) => {
      const st = lstatSync(join(stage, f.path));
      expect(readFileSync(join(stage, f.path))).toEqual(Buffer.from(f.data));
      expect(st.mode & 0o777).toBe(f.mode);
      // Microseconds, as libuv's futimes keeps them.
      expect(st.mtimeMs).toBeCloseTo(f.mtime, 2);
      const line = hasher.h64(entryLine(fileEntry(f.path, f.data.length, f.mtime, f.mode, hasher.h64Bytes(f.data))));
      const o = i * RECORD_FIELDS;
      expect([records[o + Rec.LINE_HI], records[o + Rec.LINE_LO]]).toEqual([parseInt(line.slice(0, 8), 16), parseInt(line.slice(8), 16)]);
    });
  });

  it('stops at a file it cannot create as new under real directories, leaving nothing of it', () => {
    mkdirSync(join(stage, 'd'));
    writeFileSync(join(stage, 'taken'), 'old');
    mkdirSync(join(tmpdir(), 'skiff-outside'), { recursive: true });
    symlinkSync(join(tmpdir(), 'skiff-outside'), join(stage, 'link'));
    writeFileSync(join(stage, 'file'), 'x');
    const cases: Array<[string, string]> = [
      ['taken', 'EEXIST'],
      ['missing/f', 'ENOENT'],
      ['link/f', 'a link on the way'],
      ['file/f', 'a file on the way'],
    ];
    for (const [path] of cases) {
      const { bytes, records } = message([
        { path: 'd/ok', data: enc.encode('ok') },
        { path, data: enc.encode('new') },
        { path: 'd/after', data: enc.encode('after') },
      ]);
      rmSync(join(stage, 'd/ok'), { force: true });
      expect(addon!.writeStagedFiles(bytes, records, 0, 3, stage, 0o022), path).toBe(1);
      expect(readFileSync(join(stage, 'd/ok'), 'utf8')).toBe('ok');
      expect(existsSync(join(stage, 'd/after'))).toBe(false);
    }
    expect(readFileSync(join(stage, 'taken'), 'utf8')).toBe('old');
    expect(readdirSync(join(tmpdir(), 'skiff-outside'))).toEqual([]);
  });

  it('refuses records that are not fast files of the message', () => {
    const { bytes, records } = message([{ path: 'a', data: enc.encode('a') }]);
    records[Rec.FAST] = 0;
    expect(() => addon!.writeStagedFiles(bytes, records, 0, 1, stage, 0o022)).toThrow(/not a fast file/);
    records[Rec.FAST] = 1;
    records[Rec.END] = bytes.length + 1;
    expect(() => addon!.writeStagedFiles(bytes, records, 0, 1, stage, 0o022)).toThrow(/not a fast file/);
    expect(() => addon!.writeStagedFiles(bytes, records, 1, 0, stage, 0o022)).toThrow();
    expect(readdirSync(stage)).toEqual([]);
  });
});
