/** Where the agent listens unless told otherwise: loopback only. */
export const DEFAULT_HOST = '127.0.0.1';
