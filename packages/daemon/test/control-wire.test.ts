import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@skiff/protocol';
import { tailLines } from '../src/control/autostart.ts';
import { errorFromWire } from '../src/control/client.ts';
import { formatLogLine, parseLogLevel } from '../src/control/log.ts';
import { parsePid } from '../src/control/pid-file.ts';
import { MAX_SOCKET_PATH_BYTES, runtimeDirProblem, runtimePaths } from '../src/control/runtime-paths.ts';
import {
  LineSplitter,
  MAX_LINE_BYTES,
  encodeResponse,
  okResponse,
  parseHelloParams,
  parseRequest,
  parseServerMessage,
  protocolMismatchMessage,
} from '../src/control/wire.ts';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('LineSplitter', () => {
  it.each<[string, string[], string[]]>([
    ['one whole line', ['{"a":1}\n'], ['{"a":1}']],
    ['two lines in one chunk', ['a\nb\n'], ['a', 'b']],
    ['a line across three chunks', ['ab', 'cd', 'ef\n'], ['abcdef']],
    ['the newline alone in a chunk', ['abc', '\n'], ['abc']],
    ['the end of one line and the start of the next', ['a\nb', 'c\nd', '\n'], ['a', 'bc', 'd']],
    ['an unfinished last line stays pending', ['a\nb'], ['a']],
    ['blank lines are skipped', ['\n\na\n\n'], ['a']],
    ['CRLF loses its CR', ['a\r\nb\r', '\n'], ['a', 'b']],
    ['a lone CR inside a line stays', ['a\rb\n'], ['a\rb']],
    ['empty chunks change nothing', ['', 'a', '', '\n'], ['a']],
  ])('%s', (_name, chunks, expected) => {
    const s = new LineSplitter();
    const lines = chunks.flatMap((c) => s.push(b(c)).lines);
    expect(lines).toEqual(expected);
    expect(s.overflow).toBe(false);
  });

  it('decodes a UTF-8 character split between chunks', () => {
    const bytes = b('"é✓"\n');
    const s = new LineSplitter();
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i++) lines.push(...s.push(bytes.subarray(i, i + 1)).lines);
    expect(lines).toEqual(['"é✓"']);
  });

  it('does not keep a reference to a chunk it was given', () => {
    const s = new LineSplitter();
    const chunk = b('abc');
    s.push(chunk);
    chunk.fill(0x7a);
    expect(s.push(b('\n')).lines).toEqual(['abc']);
  });

  it.each<[string, number, string[], string[], boolean]>([
    ['a line exactly at the limit passes', 4, ['abcd\n'], ['abcd'], false],
    ['a line one byte over fails', 4, ['abcde\n'], [], true],
    ['an unfinished line over the limit fails before its newline', 4, ['abc', 'de'], [], true],
    ['lines before the overlong one are kept', 4, ['ok\nabcdefgh\n'], ['ok'], true],
    ['nothing after an overflow', 4, ['abcdefgh\n', 'ok\n'], [], true],
  ])('%s', (_name, max, chunks, expected, overflow) => {
    const s = new LineSplitter(max);
    const lines = chunks.flatMap((c) => s.push(b(c)).lines);
    expect(lines).toEqual(expected);
    expect(s.overflow).toBe(overflow);
  });

  it('splits 10,000 lines arriving in odd-sized chunks', () => {
    const text = Array.from({ length: 10_000 }, (_, i) => JSON.stringify({ seq: i })).join('\n') + '\n';
    const bytes = b(text);
    const s = new LineSplitter();
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i += 997) lines.push(...s.push(bytes.subarray(i, i + 997)).lines);
    expect(lines).toHaveLength(10_000);
    expect(JSON.parse(lines[9_999])).toEqual({ seq: 9_999 });
  });
});

describe('parseRequest', () => {
  it.each([
    ['{"id":1,"method":"ping"}', { id: 1, method: 'ping' }],
    ['{"id":0,"method":"echo","params":{"a":[1]}}', { id: 0, method: 'echo', params: { a: [1] } }],
    ['{"id":2,"method":"x","extra":true}', { id: 2, method: 'x' }],
  ])('accepts %s', (line, expected) => {
    expect(parseRequest(line)).toEqual({ ok: true, value: expected });
  });

  it.each<[string, number | null, RegExp]>([
    ['not json', null, /not valid JSON/],
    ['[1,2]', null, /JSON object/],
    ['null', null, /JSON object/],
    ['{"method":"ping"}', null, /"id"/],
    ['{"id":"1","method":"ping"}', null, /"id"/],
    ['{"id":1.5,"method":"ping"}', null, /"id"/],
    ['{"id":-1,"method":"ping"}', null, /"id"/],
    ['{"id":3}', 3, /"method"/],
    ['{"id":3,"method":""}', 3, /"method"/],
    ['{"id":3,"method":7}', 3, /"method"/],
    ['{"id":4,"method":"x","params":[1]}', 4, /"params"/],
    ['{"id":4,"method":"x","params":null}', 4, /"params"/],
  ])('rejects %s', (line, id, message) => {
    const r = parseRequest(line);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.id).toBe(id);
    expect(r.message).toMatch(message);
  });
});

describe('parseServerMessage', () => {
  it.each([
    ['{"id":1,"ok":true,"result":{"x":1}}', { id: 1, ok: true, result: { x: 1 } }],
    ['{"id":1,"ok":true}', { id: 1, ok: true, result: null }],
    ['{"id":null,"ok":false,"error":{"code":"SKIFF_E_FRAME_MALFORMED","message":"m"}}', { id: null, ok: false, error: { code: 'SKIFF_E_FRAME_MALFORMED', message: 'm' } }],
    ['{"event":"tick","data":{"seq":1}}', { event: 'tick', data: { seq: 1 } }],
    ['{"event":"bare"}', { event: 'bare', data: null }],
  ])('reads %s', (line, expected) => {
    expect(parseServerMessage(line)).toEqual({ ok: true, value: expected });
  });

  it.each(['{}', '{"id":1}', '{"id":1,"ok":false}', '{"id":1,"ok":false,"error":{"code":1}}', '{"id":"a","ok":true}', '"x"'])('rejects %s', (line) => {
    expect(parseServerMessage(line).ok).toBe(false);
  });
});

describe('hello', () => {
  it.each([
    [{ protocol: 1, version: '0.1.0' }, { protocol: 1, version: '0.1.0' }],
    [{ protocol: 1.5, version: '0.1.0' }, undefined],
    [{ protocol: 1 }, undefined],
    [{ version: 'x' }, undefined],
    [null, undefined],
  ])('params %j', (params, expected) => {
    expect(parseHelloParams(params)).toEqual(expected);
  });

  it('says what to do on a protocol mismatch', () => {
    const m = protocolMismatchMessage({ protocol: 1, version: '0.1.0', pid: 42 }, { protocol: 999, version: '9.9.9' });
    expect(m).toBe('the running daemon is skiff 0.1.0 (control protocol 1, pid 42) and this CLI is skiff 9.9.9 (control protocol 999): stop it with `skiff daemon stop` and run the command again');
  });
});

describe('encodeResponse', () => {
  it('encodes a result as one line', () => {
    expect(encodeResponse(okResponse(1, { a: 1 }))).toBe('{"id":1,"ok":true,"result":{"a":1}}\n');
    expect(encodeResponse(okResponse(2, undefined))).toBe('{"id":2,"ok":true,"result":null}\n');
  });

  it('turns an unencodable result into an error for the same id', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const r = JSON.parse(encodeResponse(okResponse(3, cyclic)));
    expect(r).toMatchObject({ id: 3, ok: false, error: { code: ErrorCode.INTERNAL } });
    expect(JSON.parse(encodeResponse(okResponse(4, { n: 1n })))).toMatchObject({ id: 4, ok: false });
  });

  it('turns a result over the line limit into an error', () => {
    const r = JSON.parse(encodeResponse(okResponse(5, 'x'.repeat(MAX_LINE_BYTES))));
    expect(r).toMatchObject({ id: 5, ok: false, error: { code: ErrorCode.INTERNAL } });
    expect(r.error.message).toMatch(/larger than/);
  });
});

describe('errorFromWire', () => {
  it('keeps a known code', () => {
    const e = errorFromWire({ code: ErrorCode.PROTOCOL_STATE, message: 'm' });
    expect(e.code).toBe(ErrorCode.PROTOCOL_STATE);
    expect(e.message).toBe('m');
  });
  it('keeps an unknown code in the message', () => {
    const e = errorFromWire({ code: 'SKIFF_E_FROM_THE_FUTURE', message: 'm' });
    expect(e.code).toBe(ErrorCode.INTERNAL);
    expect(e.message).toBe('m [SKIFF_E_FROM_THE_FUTURE]');
  });
});

describe('runtimePaths', () => {
  it.each<[string, Record<string, string>, string]>([
    ['SKIFF_RUNTIME_DIR wins', { SKIFF_RUNTIME_DIR: '/tmp/x', XDG_RUNTIME_DIR: '/run/user/1000' }, '/tmp/x'],
    ['then XDG_RUNTIME_DIR/skiff', { XDG_RUNTIME_DIR: '/run/user/1000' }, '/run/user/1000/skiff'],
    ['a relative XDG_RUNTIME_DIR is ignored', { XDG_RUNTIME_DIR: 'run' }, '/home/u/.skiff/run'],
    ['an empty XDG_RUNTIME_DIR is ignored', { XDG_RUNTIME_DIR: '' }, '/home/u/.skiff/run'],
    ['else ~/.skiff/run', {}, '/home/u/.skiff/run'],
  ])('%s', (_name, env, dir) => {
    const p = runtimePaths(env, '/home/u');
    expect(p).toEqual({
      dir,
      socketPath: `${dir}/skiffd.sock`,
      pidFile: `${dir}/skiffd.pid`,
      logFile: `${dir}/skiffd.log`,
      lockFile: `${dir}/skiffd.lock`,
    });
  });

  it('refuses a relative SKIFF_RUNTIME_DIR', () => {
    expect(() => runtimePaths({ SKIFF_RUNTIME_DIR: 'rel' }, '/h')).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG }));
  });

  it('refuses a socket path longer than sun_path', () => {
    const long = `/${'d'.repeat(MAX_SOCKET_PATH_BYTES)}`;
    expect(() => runtimePaths({ SKIFF_RUNTIME_DIR: long }, '/h')).toThrow(/SKIFF_RUNTIME_DIR/);
  });
});

describe('runtimeDirProblem', () => {
  const dir = { isDirectory: true, isSymlink: false, uid: 1000, mode: 0o40700 };
  it.each<[string, typeof dir, RegExp | undefined]>([
    ['0700, ours', dir, undefined],
    ['group-readable', { ...dir, mode: 0o40750 }, /open to other users \(mode 0750, it must be 0700\)/],
    ['world-writable', { ...dir, mode: 0o40777 }, /open to other users/],
    ["someone else's", { ...dir, uid: 0 }, /another user/],
    ['a file', { ...dir, isDirectory: false }, /not a directory/],
    ['a symlink', { ...dir, isSymlink: true }, /symbolic link/],
  ])('%s', (_name, st, problem) => {
    const p = runtimeDirProblem(st, 1000);
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p?.problem).toMatch(problem);
  });
});

describe('small parsers', () => {
  it.each([
    ['123\n', 123],
    ['  77 extra', 77],
    ['', undefined],
    ['0', undefined],
    ['-5', undefined],
    ['12abc', undefined],
    ['99999999999999999999', undefined],
  ])('parsePid(%j)', (text, pid) => {
    expect(parsePid(text)).toBe(pid);
  });

  it.each([
    ['a\nb\nc\n', 2, ['b', 'c']],
    ['a\r\n\n\nb', 5, ['a', 'b']],
    ['', 3, []],
    ['a\nb', 0, []],
  ])('tailLines(%j, %d)', (text, n, lines) => {
    expect(tailLines(text, n)).toEqual(lines);
  });

  it.each([
    ['debug', 'debug'],
    ['warn', 'warn'],
    [undefined, 'info'],
    ['loud', 'info'],
    ['__proto__', 'info'],
  ])('parseLogLevel(%j)', (value, level) => {
    expect(parseLogLevel(value)).toBe(level);
  });

  it('formats a log line with time, level and pid', () => {
    expect(formatLogLine(new Date(0), 'info', 'hi')).toBe(`1970-01-01T00:00:00.000Z info  [${process.pid}] hi\n`);
  });
});
