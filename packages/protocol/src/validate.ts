import { appSpecProblem } from './app-spec.ts';
import { EntryType, type Entry } from './entry.ts';
import { ErrorCode, SkiffError, isErrorCode } from './errors.ts';
import { Kind, AppState, LogStream, type HeaderOf } from './messages.ts';
import { MAX_SPAN_BYTES } from './limits.ts';
import { checkLinkTarget, checkRelPath } from './paths.ts';

/*
 * Header validation per kind. Every field a peer sends is checked for type and
 * range before anyone acts on it: the decoder hands out only frames whose
 * headers match their kind's shape, with paths already proven safe.
 */
type Obj = Record<string, unknown>;

const HASH_RE = /^[0-9a-f]{16}$/;
const ENTRY_TYPES: ReadonlySet<string> = new Set(Object.values(EntryType));
const APP_STATES: ReadonlySet<string> = new Set(Object.values(AppState));
const LOG_STREAMS: ReadonlySet<string> = new Set(Object.values(LogStream));

function malformed(kindName: string, field: string): SkiffError {
  return new SkiffError(ErrorCode.FRAME_MALFORMED, `${kindName} frame has an invalid "${field}"`);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}
function isMode(v: unknown): v is number {
  return isCount(v) && v <= 0o7777;
}

type Check = (h: Obj) => string | SkiffError | null;

/** Returns the name of the first bad field, a SkiffError for a bad path, or null. */
function fields(spec: Record<string, (v: unknown) => boolean>, optional: Record<string, (v: unknown) => boolean> = {}): Check {
  // Listed once here, not at every frame: a first sync decodes tens of thousands.
  const required = Object.entries(spec);
  const maybe = Object.entries(optional);
  return (h) => {
    for (const [name, ok] of required) if (!ok(h[name])) return name;
    for (const [name, ok] of maybe) if (h[name] !== undefined && !ok(h[name])) return name;
    return null;
  };
}

const str = (v: unknown) => typeof v === 'string';
const isHash = (v: unknown) => typeof v === 'string' && HASH_RE.test(v);
const bool = (v: unknown) => typeof v === 'boolean';
const path = (h: Obj) => checkRelPath(h.path);

/** The AppSpec check shared with SKIFF_APP, worded for a frame. */
const appSpec: Check = (h) => {
  const problem = appSpecProblem(h);
  if (problem === null) return null;
  return new SkiffError(ErrorCode.FRAME_MALFORMED, `APP_SPEC frame has an invalid "${problem.field}": it must be ${problem.expected}`);
};

const CHECKS: Record<number, Check[]> = {
  [Kind.HELLO]: [
    fields(
      { protocol: isCount, software: str },
      {
        root: str,
        digest: (v) => typeof v === 'string' && HASH_RE.test(v),
        entries: isCount,
        capabilities: (v) => Array.isArray(v) && v.every(str),
      },
    ),
  ],
  [Kind.INVENTORY_REQUEST]: [],
  [Kind.INVENTORY]: [fields({ page: isCount, last: bool })],
  [Kind.BATCH_BEGIN]: [fields({ batch: isCount, ops: isCount, bytes: isCount })],
  [Kind.FILE]: [
    fields({ batch: isCount, size: isCount, mode: isMode, mtime: isTime, offset: isCount, hash: (v) => typeof v === 'string' && HASH_RE.test(v) }),
    path,
  ],
  [Kind.COPY]: [
    fields({ batch: isCount, size: isCount, mode: isMode, mtime: isTime, hash: (v) => typeof v === 'string' && HASH_RE.test(v) }),
    path,
    (h) => checkRelPath(h.from),
  ],
  [Kind.SPAN]: [
    fields(
      { batch: isCount, size: isCount, mode: isMode, mtime: isTime, offset: isCount, hash: isHash, length: (v) => isCount(v) && v >= 1 && v <= MAX_SPAN_BYTES },
      { from: isCount, base: isHash },
    ),
    path,
    (h) => ((h.from === undefined) !== (h.base === undefined) ? 'base' : null),
  ],
  [Kind.SYMLINK]: [fields({ batch: isCount, mtime: isTime, target: str }), path, (h) => checkLinkTarget(h.path as string, h.target)],
  [Kind.MKDIR]: [fields({ batch: isCount, mode: isMode }), path],
  [Kind.DELETE]: [fields({ batch: isCount }), path],
  [Kind.COMMIT]: [fields({ batch: isCount })],
  [Kind.APPLIED]: [
    fields({
      batch: isCount,
      written: isCount,
      deleted: isCount,
      bytes: isCount,
      entries: isCount,
      digest: (v) => typeof v === 'string' && HASH_RE.test(v),
      problems: (v) => Array.isArray(v) && v.every((p) => isObj(p) && str(p.path) && isErrorCode(p.code) && str(p.message)),
    }),
  ],
  [Kind.ERROR]: [fields({ code: isErrorCode, message: str }, { batch: isCount, path: str })],
  [Kind.APP_STATUS]: [
    fields(
      { state: (v) => typeof v === 'string' && APP_STATES.has(v), restarts: isCount, since: isTime },
      {
        pid: isCount,
        exitCode: (v) => v === null || (typeof v === 'number' && Number.isInteger(v)),
        signal: (v) => v === null || typeof v === 'string',
        message: str,
      },
    ),
  ],
  [Kind.LOG]: [fields({ stream: (v) => typeof v === 'string' && LOG_STREAMS.has(v), ts: isTime })],
  [Kind.APP_SPEC]: [appSpec],
};

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isKnownKind(kind: number): kind is Kind {
  return Object.prototype.hasOwnProperty.call(CHECKS, kind);
}

/** Validates a decoded header for its kind; throws a SkiffError naming what is wrong. */
export function validateHeader<K extends Kind>(kind: K, kindName: string, header: unknown): HeaderOf[K] {
  if (!isObj(header)) throw new SkiffError(ErrorCode.FRAME_MALFORMED, `${kindName} frame header is not a JSON object`);
  for (const check of CHECKS[kind]) {
    const result = check(header);
    if (result === null) continue;
    if (typeof result === 'string') throw malformed(kindName, result);
    throw result;
  }
  return header as unknown as HeaderOf[K];
}

/** Validates one entry of an inventory page. */
export function validateEntry(value: unknown): Entry {
  if (!isObj(value)) throw new SkiffError(ErrorCode.FRAME_MALFORMED, 'inventory entry is not an object');
  const pathErr = checkRelPath(value.path);
  if (pathErr) throw pathErr;
  if (typeof value.type !== 'string' || !ENTRY_TYPES.has(value.type)) throw malformed('INVENTORY', 'type');
  if (!isCount(value.size)) throw malformed('INVENTORY', 'size');
  if (!isTime(value.mtime)) throw malformed('INVENTORY', 'mtime');
  if (!isMode(value.mode)) throw malformed('INVENTORY', 'mode');
  if (typeof value.hash !== 'string' || (value.type === EntryType.FILE && !HASH_RE.test(value.hash))) {
    throw malformed('INVENTORY', 'hash');
  }
  if (value.type === EntryType.SYMLINK && typeof value.target !== 'string') throw malformed('INVENTORY', 'target');
  return value as unknown as Entry;
}
