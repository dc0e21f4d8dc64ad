/**
 * Phases of the heartbeat thread, in an Int32 shared with the main thread: still booting, sockets
 * open, or told to stay closed. A module of its own: the thread imports it and nothing heavier.
 */
export const PHASE_BOOTING = 0;
export const PHASE_RUNNING = 1;
export const PHASE_CANCELLED = 2;
