export { UNHASHED, UNKNOWN_INO, type IndexEntry, type ScanResult } from './entry.ts';
export { HASH_SLICE_MS, hashDeferred } from './hash-deferred.ts';
export { HASH_CHUNK_BYTES, hashFile, hashFileSync, type FileHash } from './hash-file.ts';
export { LARGE_FILE_CONCURRENCY, SCAN_SLICE_MS, scanTree, type ScanOptions } from './scan.ts';
export {
  INDEX_FILE,
  INDEX_VERSION,
  indexPath,
  loadIndex,
  parseIndex,
  saveIndex,
  serializeIndex,
  STATE_DIR,
  type LoadedIndex,
} from './store.ts';
