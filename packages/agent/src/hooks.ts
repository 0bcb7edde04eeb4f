/*
 * Where the receiver (files in) meets the supervisor (the app). The receiver
 * calls `committed` after every batch it applied, including the empty batch the
 * daemon commits after verifying a fresh connection, so an app whose files were
 * already in place still starts, and `applySpec` for every APP_SPEC frame. The
 * supervisor publishes app status and log lines; the receiver forwards them to
 * whichever daemon is connected.
 */
import type { AppSpec, AppStatusHeader, LogStream } from '@skiff/protocol';

export interface CommittedBatch {
  batch: number;
  /** Wire paths written, created or deleted by the batch (empty for a verify-only commit). */
  paths: string[];
}

export interface AppEvents {
  status(status: AppStatusHeader): void;
  log(stream: LogStream, data: Uint8Array, ts: number): void;
}

export interface AppHooks {
  committed(batch: CommittedBatch): void;
  /**
   * The daemon's app spec (already validated). Absent: the agent does not
   * take specs, and does not announce Capability.APP_SPEC.
   */
  applySpec?(spec: AppSpec): void;
  /** Subscribes to status and logs; the current status is sent at once. Returns an unsubscribe. */
  subscribe(events: AppEvents): () => void;
}
