import { MAX_LINE_BYTES } from '../../packages/daemon/src/control/wire.ts';
import type { Rng } from './fuzz-rng.ts';

/**
 * Lines for fuzzing the daemon's control socket: malformed JSON, JSON of the
 * wrong shape, unknown and hostile method names, hostile params, binary
 * garbage, lines at and over the length limit. Drawn from a seeded Rng.
 */

/** Method names a lookup by plain property access would get wrong, and real ones. */
const METHOD_NAMES = [
  'hello',
  'ping',
  'echo',
  'fail',
  'crash',
  'later',
  'huge',
  'cyclic',
  'broadcast',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'prototype',
  'session.start',
  'daemon.status',
  'nope',
  'HELLO',
  ' ping',
  'ping\u0000',
  'é',
] as const;
/** A method name far longer than any real one: its error message quotes it. Rare, it costs 10 KB a line. */
const LONG_METHOD = 'a'.repeat(10_000);
const P_LONG_METHOD = 0.002;

const HOSTILE_IDS: readonly unknown[] = [-1, 0.5, 1e308, 2 ** 53, '1', '', null, true, [], {}, -0];

function jsonValue(rng: Rng, depth = 0): unknown {
  const leaf = depth > 3 || rng.chance(0.5);
  if (leaf) {
    return rng.pick<() => unknown>([
      () => rng.int(1e6),
      () => -rng.int(1e6),
      () => rng.float(),
      () => 'x'.repeat(rng.int(40)),
      () => String.fromCharCode(...Array.from({ length: rng.int(8) }, () => rng.int(0x2000))),
      () => null,
      () => rng.chance(0.5),
    ])();
  }
  if (rng.chance(0.5)) return Array.from({ length: rng.int(4) }, () => jsonValue(rng, depth + 1));
  const out: Record<string, unknown> = {};
  for (let i = 0, n = rng.int(4); i < n; i++) out[rng.pick(['a', 'root', 'ms', 'code', 'message', 'protocol', 'version', '__proto__', 'count'])] = jsonValue(rng, depth + 1);
  return out;
}

/** A request whose id the server can read: it must answer with that id. */
function request(rng: Rng, id: number): string {
  const method = rng.chance(P_LONG_METHOD) ? LONG_METHOD : rng.pick(METHOD_NAMES);
  const params = rng.chance(0.3) ? undefined : method === 'hello' ? helloParams(rng) : jsonValue(rng);
  return JSON.stringify(params === undefined ? { id, method } : { id, method, params });
}

function helloParams(rng: Rng): unknown {
  return rng.pick<unknown>([
    { protocol: 1, version: 'fuzz' },
    { protocol: 2, version: 'fuzz-future' },
    { protocol: 0, version: 'fuzz-past' },
    { protocol: '1', version: 'fuzz' },
    { protocol: 1 },
    { version: 'fuzz' },
    { protocol: 1.5, version: 'fuzz' },
    [],
    null,
  ]);
}

/** Nesting deep enough to hurt a recursive parser or encoder; rare, each such line is 10-15 KB. */
const P_DEEP = 0.005;

function wrongShape(rng: Rng): string {
  if (rng.chance(P_DEEP)) {
    return rng.chance(0.5)
      ? `{"id":${rng.int(1e6)},"method":"echo","params":{"deep":${'['.repeat(5000)}${']'.repeat(5000)}}}`
      : `{"id":${rng.int(1e6)},"method":"echo","params":{"deep":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}}`;
  }
  return rng.pick<() => string>([
    () => JSON.stringify({ id: rng.pick(HOSTILE_IDS), method: 'ping' }),
    () => JSON.stringify({ method: 'ping' }),
    () => JSON.stringify({ id: rng.int(1e6) }),
    () => JSON.stringify({ id: rng.int(1e6), method: rng.pick<unknown>(['', 1, null, [], {}, true]) }),
    () => JSON.stringify({ id: rng.int(1e6), method: 'echo', params: rng.pick<unknown>([[], 'p', 1, null, true]) }),
    () => JSON.stringify(jsonValue(rng)),
    () => JSON.stringify([{ id: 1, method: 'ping' }]),
    () => '{"id":1,"id":-1,"method":"ping"}',
    () => `{"id":${rng.int(1e6)},"method":"echo","params":{"__proto__":{"polluted":true}}}`,
  ])();
}

function malformedJson(rng: Rng): string {
  const valid = request(rng, rng.int(1e6));
  return rng.pick<() => string>([
    () => valid.slice(0, rng.int(valid.length)),
    () => valid.slice(rng.range(1, valid.length - 1)),
    () => `${valid}}`,
    () => `${valid} ${valid}`,
    () => valid.replace(/"/g, "'"),
    () => rng.pick(['{', '}', '[', ']', '"', 'nul', 'NaN', 'undefined', '{"id":1,}', '{id:1,method:"ping"}', '\u00ef\u00bb\u00bf{}', '\uFEFF{"id":1,"method":"ping"}']),
  ])();
}

/** Bytes that are not text: may hold newlines (several lines) and invalid UTF-8. */
function binary(rng: Rng): Buffer {
  return Buffer.from(rng.bytes(rng.range(1, 600)));
}

export const LineKind = {
  REQUEST: 'request',
  WRONG_SHAPE: 'wrong-shape',
  MALFORMED: 'malformed',
  BINARY: 'binary',
  BLANK: 'blank',
  NEAR_LIMIT: 'near-limit',
  OVER_LIMIT: 'over-limit',
} as const;
export type LineKind = (typeof LineKind)[keyof typeof LineKind];

/** How often each kind comes; the long lines are rare because each costs a megabyte. */
export const LINE_MIX: readonly (readonly [number, LineKind])[] = [
  [40, LineKind.REQUEST],
  [25, LineKind.WRONG_SHAPE],
  [20, LineKind.MALFORMED],
  [10, LineKind.BINARY],
  [4, LineKind.BLANK],
  [0.01, LineKind.NEAR_LIMIT],
  [0.01, LineKind.OVER_LIMIT],
];

/** One line (newline included), or binary bytes that may hold any number of newlines. */
export function fuzzLine(rng: Rng, kind: LineKind): Buffer {
  const ending = rng.chance(0.1) ? '\r\n' : '\n';
  switch (kind) {
    case LineKind.REQUEST:
      return Buffer.from(request(rng, rng.int(1e9)) + ending);
    case LineKind.WRONG_SHAPE:
      return Buffer.from(wrongShape(rng) + ending);
    case LineKind.MALFORMED:
      return Buffer.from(malformedJson(rng).replace(/[\r\n]/g, ' ') + ending);
    case LineKind.BINARY:
      return Buffer.concat([binary(rng), Buffer.from(ending)]);
    case LineKind.BLANK:
      return Buffer.from(rng.pick(['\n', '\r\n', '\n\n\n']));
    case LineKind.NEAR_LIMIT: {
      // A valid request exactly at the limit: it must be answered, not refused.
      const head = `{"id":${rng.int(1e6)},"method":"echo","params":{"pad":"`;
      const tail = '"}}';
      return Buffer.from(`${head}${'p'.repeat(MAX_LINE_BYTES - head.length - tail.length)}${tail}\n`);
    }
    case LineKind.OVER_LIMIT:
      return Buffer.from(`${'o'.repeat(MAX_LINE_BYTES + 1 + rng.int(1000))}\n`);
  }
}

/** The lines the server reads out of `data`, as its LineSplitter cuts them: blank ones skipped, one CR dropped. */
export function countLines(data: Buffer): number {
  let lines = 0;
  let start = 0;
  for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
    let end = nl;
    if (end > start && data[end - 1] === 0x0d) end -= 1;
    if (end > start) lines += 1;
    start = nl + 1;
  }
  return lines;
}
