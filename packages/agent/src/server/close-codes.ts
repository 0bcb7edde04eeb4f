import { ErrorCode } from '@skiff/protocol';

/**
 * Websocket close codes the agent ends a daemon connection with. The ERROR frame sent
 * just before carries the stable SKIFF_E_* code; the close code tells a peer
 * that never parsed it what class of failure ended the connection.
 */
export const CloseCode = {
  NORMAL: 1000,
  /** The agent is shutting down. */
  GOING_AWAY: 1001,
  /** Wrong protocol version, or a frame out of order. */
  PROTOCOL_ERROR: 1002,
  /** A text message: the protocol is binary. */
  UNSUPPORTED_DATA: 1003,
  /** A frame that does not decode: truncated, oversized, malformed. */
  INVALID_PAYLOAD: 1007,
  /** A frame that decodes but is refused: unsafe path or link. */
  POLICY_VIOLATION: 1008,
  INTERNAL_ERROR: 1011,
  /** A newer daemon connection took over: the newest daemon wins. */
  REPLACED: 4001,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

const BY_ERROR: Partial<Record<ErrorCode, CloseCode>> = {
  [ErrorCode.PROTOCOL_VERSION]: CloseCode.PROTOCOL_ERROR,
  [ErrorCode.PROTOCOL_STATE]: CloseCode.PROTOCOL_ERROR,
  [ErrorCode.FRAME_TRUNCATED]: CloseCode.INVALID_PAYLOAD,
  [ErrorCode.FRAME_HEADER_TOO_LARGE]: CloseCode.INVALID_PAYLOAD,
  [ErrorCode.FRAME_CHUNK_TOO_LARGE]: CloseCode.INVALID_PAYLOAD,
  [ErrorCode.FRAME_UNKNOWN_KIND]: CloseCode.INVALID_PAYLOAD,
  [ErrorCode.FRAME_MALFORMED]: CloseCode.INVALID_PAYLOAD,
  [ErrorCode.SIZE_MISMATCH]: CloseCode.INVALID_PAYLOAD,
  [ErrorCode.INTERNAL]: CloseCode.INTERNAL_ERROR,
};

/** The close code for a connection ended by `code`; path and link refusals are policy violations. */
export function closeCodeFor(code: ErrorCode): CloseCode {
  return BY_ERROR[code] ?? CloseCode.POLICY_VIOLATION;
}
