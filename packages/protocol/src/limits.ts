/**
 * Limits enforced on decode by both sides. A peer that exceeds one gets an
 * error with a stable code; nothing is allocated past these bounds.
 */

/** Longest relative path, in UTF-8 bytes (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;
/** Longest single path component, in UTF-8 bytes (Linux NAME_MAX). */
export const MAX_NAME_BYTES = 255;
/** Largest JSON header of one frame. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Largest payload of one frame: file data travels in chunks of at most this. */
export const MAX_CHUNK_BYTES = 1024 * 1024;
/** Fixed prefix of a frame: kind (u8), header length (u32), payload length (u32). */
export const FRAME_PREFIX_BYTES = 9;
/**
 * Largest websocket message. Small files are packed several frames to a message,
 * so a message may hold up to this many bytes of frames.
 */
export const MAX_MESSAGE_BYTES = 4 * MAX_CHUNK_BYTES;
/** Largest symlink target, in UTF-8 bytes. */
export const MAX_LINK_TARGET_BYTES = 4096;
/**
 * Largest websocket message either side accepts. A packer closes a message
 * once it passes its target (at most MAX_MESSAGE_BYTES), so a message may
 * exceed that by one whole frame: a prefix, a header and a chunk.
 */
export const MAX_WS_PAYLOAD_BYTES = MAX_MESSAGE_BYTES + FRAME_PREFIX_BYTES + MAX_HEADER_BYTES + MAX_CHUNK_BYTES;
/**
 * Longest run one SPAN frame may describe (a copy from the base or a hole):
 * the agent's work for one frame stays bounded, as a chunk's does.
 */
export const MAX_SPAN_BYTES = 16 * MAX_CHUNK_BYTES;
