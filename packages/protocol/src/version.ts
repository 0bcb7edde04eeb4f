/** Wire protocol version: bumped on any incompatible change to frames or messages. */
export const PROTOCOL_VERSION = 1;
/** Version of the skiff programs (CLI, daemon, agent) built from this tree. */
export const SKIFF_VERSION = '0.1.0';
/** Capabilities an agent may announce in its hello. */
export const Capability = {
  /** Files are written to a temporary name and renamed into place. */
  ATOMIC_WRITE: 'atomic-write',
  SYMLINKS: 'symlinks',
  /** The agent takes COPY frames: moved files travel without their bytes. */
  COPY: 'copy',
  /** The agent supervises an app and streams its status and logs. */
  SUPERVISOR: 'supervisor',
  /** The agent takes APP_SPEC frames: its app spec can change while it runs. */
  APP_SPEC: 'app-spec',
  /**
   * The agent takes SPAN frames: a changed file travels as what changed plus
   * runs copied from its current version (a delta), and holes stay holes.
   * Without it the daemon sends whole files.
   */
  SPANS: 'spans',
} as const;
export type Capability = (typeof Capability)[keyof typeof Capability];
