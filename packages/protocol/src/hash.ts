import xxhash from 'xxhash-wasm';

/**
 * xxhash64 as both sides use it: content hashes and manifest digests are 16
 * lowercase hex digits. Loading compiles the wasm module once per process.
 */
export interface StreamHash {
  update(chunk: Uint8Array): StreamHash;
  /** 16 hex digits. */
  digest(): string;
}

export interface Hasher {
  /** xxhash64 of a string's UTF-8 bytes, 16 hex digits. */
  h64(s: string): string;
  /** xxhash64 of bytes, 16 hex digits. */
  h64Bytes(bytes: Uint8Array): string;
  /** An incremental hash for content read in chunks. */
  stream(): StreamHash;
}

function hex(n: bigint): string {
  return n.toString(16).padStart(16, '0');
}

let loading: Promise<Hasher> | undefined;

export function loadHasher(): Promise<Hasher> {
  loading ??= xxhash().then((api) => ({
    h64: (s) => api.h64ToString(s),
    h64Bytes: (bytes) => hex(api.h64Raw(bytes)),
    stream: () => {
      const state = api.create64();
      const self: StreamHash = {
        update(chunk) {
          state.update(chunk);
          return self;
        },
        digest: () => hex(state.digest()),
      };
      return self;
    },
  }));
  return loading;
}
