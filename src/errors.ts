/**
 * Typed errors. Every error the framework raises on purpose is a {@link ScoopError}
 * with a stable `code`, so callers can branch on `err.code` instead of parsing messages.
 */
import type { Future } from "./futures/future.js";

/** Base class of every error raised by the framework itself. */
export class ScoopError extends Error {
  /** Stable, machine-readable identifier of the error kind. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A waiting call ran out of time (`result({timeout})`, `wait`, `getConst`, …). */
export class TimeoutError extends ScoopError {
  constructor(message: string) {
    super("ERR_SCOOP_TIMEOUT", message);
  }
}

/**
 * `futures.wait()` ran out of time before its condition was met. Besides the message, it carries the
 * futures that were done at that moment and those that were not (as `wait` would have returned them).
 */
export class WaitTimeoutError extends TimeoutError {
  constructor(
    message: string,
    /** Futures done when the time ran out. */
    readonly done: Set<Future<unknown>>,
    /** Futures still pending when the time ran out. */
    readonly notDone: Set<Future<unknown>>,
  ) {
    super(message);
  }
}

/** The future was cancelled before it produced a result. */
export class CancelledError extends ScoopError {
  constructor(message = "the future was cancelled") {
    super("ERR_SCOOP_CANCELLED", message);
  }
}

/** A task was lost with the workers that held it more often than the retry bound allows. */
export class WorkerLostError extends ScoopError {
  readonly workers: string[];
  constructor(message: string, workers: string[] = []) {
    super("ERR_SCOOP_WORKER_LOST", message);
    this.workers = workers;
  }
}

/** A function or value cannot travel to another process; raised at the call, never inside a worker. */
export class SerializationError extends ScoopError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_SCOOP_SERIALIZATION", message, options);
  }
}

/** Bad configuration: an environment variable, flag or option has a value we cannot use. */
export class ConfigError extends ScoopError {
  constructor(message: string) {
    super("ERR_SCOOP_CONFIG", message);
  }
}

/** A bad argument given to a public API call. */
export class ArgumentError extends ScoopError {
  constructor(message: string) {
    super("ERR_SCOOP_ARGUMENT", message);
  }
}

/** The peer refused the handshake: version mismatch, duplicate worker name, wrong broker name. */
export class HandshakeError extends ScoopError {
  constructor(message: string) {
    super("ERR_SCOOP_HANDSHAKE", message);
  }
}

/** A frame that does not follow the wire rules. */
export class ProtocolError extends ScoopError {
  constructor(message: string) {
    super("ERR_SCOOP_PROTOCOL", message);
  }
}

/** The user's script cannot be used (missing file, no `main` export when one is needed, …). */
export class ScriptError extends ScoopError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_SCOOP_SCRIPT", message, options);
  }
}

/** A shared constant was defined twice. */
export class ConstantError extends ScoopError {
  constructor(message: string) {
    super("ERR_SCOOP_CONSTANT", message);
  }
}

/** The pool is not running (shut down, broker gone) so the call cannot be served. */
export class PoolClosedError extends ScoopError {
  constructor(message = "the pool is shut down") {
    super("ERR_SCOOP_POOL_CLOSED", message);
  }
}

/** The broker stopped answering or went away. */
export class BrokerLostError extends ScoopError {
  constructor(message: string) {
    super("ERR_SCOOP_BROKER_LOST", message);
  }
}
