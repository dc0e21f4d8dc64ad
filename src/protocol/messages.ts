/**
 * Message shapes between workers and the broker, and their header encoding.
 *
 * A message is a ZeroMQ multipart: frame 0 is a msgpack header `[type, ...fields]`; the frames after it
 * are opaque payloads (encoded user values) that the broker forwards without decoding. `counts[i]` says
 * how many payload frames belong to the i-th item, so large binary values can ride as their own frames.
 *
 * HELLO keeps type 0 and a plain-map body forever, so that a peer of any version can read it and a
 * mismatch is reported as such rather than as a decoding failure.
 */
import { Packr } from "msgpackr";
import { ProtocolError } from "../errors.js";

export const enum MessageType {
  Hello = 0,
  Welcome = 1,
  Refuse = 2,
  Request = 3,
  Submit = 4,
  Tasks = 5,
  Result = 6,
  Results = 7,
  Cancel = 8,
  SetConst = 9,
  ConstAck = 10,
  GetConst = 11,
  Const = 12,
  Shutdown = 13,
  Heartbeat = 14,
  Bye = 15,
  Info = 16,
  /** Broker → submitter: tasks given up after their workers were lost too often. */
  Lost = 17,
  /** Broker → all (meta): whether some worker sits idle, waiting for work (1) or none does (0). */
  Idle = 18,
  /**
   * Worker → broker, only when WELCOME said `observe`: one payload frame of telemetry (task spans,
   * errors, CPU, memory, map progress) for the broker's observer. Never routed anywhere.
   */
  Telemetry = 19,
  /**
   * Broker → worker: an idle worker is waiting and nothing is queued; give back up to n tasks that
   * you were handed and have not started.
   */
  Release = 20,
  /**
   * Worker → broker, answering RELEASE or unasked (it holds more than it can start soon): the ids it
   * gives back (their frames are still held there). Its unused credit is withdrawn with them.
   */
  Returned = 21,
}

/** What a worker says about itself when it connects. */
export interface HelloInfo {
  protocol: number;
  version: string;
  name: string;
  brokerName: string;
  origin: boolean;
  host: string;
  pid: number;
  /** false for a submit-only client (an embedding program's pool handle). */
  executes: boolean;
}

/** What the broker answers to an accepted HELLO. */
export interface WelcomeInfo {
  protocol: number;
  version: string;
  brokerName: string;
  /** Small integer unique among this broker's workers; task ids carry it to route results home. */
  index: number;
  size: number;
  hosts: string[];
  /** Heartbeat period and the silence after which a peer is presumed dead, in ms. */
  heartbeatInterval: number;
  heartbeatTimeout: number;
  /** Secret that a worker's heartbeat thread quotes, so a stranger cannot keep a dead worker alive. */
  heartbeatToken: string;
  /** Set when the broker has an observer (dashboard, metrics): workers then send TELEMETRY. */
  observe?: boolean;
}

/** Pool facts the broker publishes whenever they change. */
export interface PoolInfo {
  size: number;
  hosts: string[];
}

export type Header =
  | [MessageType.Hello, HelloInfo]
  | [MessageType.Welcome, WelcomeInfo, string[]]
  | [MessageType.Refuse, string]
  | [MessageType.Request, number]
  | [MessageType.Request, number, number]
  | [MessageType.Submit, number[], number[]]
  | [MessageType.Tasks, number[], number[]]
  | [MessageType.Result, number[], number[]]
  /** With the sender's next REQUEST folded in (credit, idle): one message per task boundary instead of two. */
  | [MessageType.Result, number[], number[], number, number]
  | [MessageType.Results, number[], number[]]
  | [MessageType.Cancel, number[]]
  | [MessageType.SetConst, number, string[]]
  | [MessageType.ConstAck, number, string | null]
  | [MessageType.GetConst, string]
  | [MessageType.Const, string[]]
  | [MessageType.Shutdown, number]
  | [MessageType.Heartbeat]
  | [MessageType.Heartbeat, number, string]
  | [MessageType.Bye]
  | [MessageType.Info, PoolInfo]
  | [MessageType.Lost, number[], string[]]
  | [MessageType.Idle, number]
  | [MessageType.Telemetry]
  | [MessageType.Release, number]
  | [MessageType.Returned, number[]];

const headerPackr = new Packr({ useRecords: false, mapsAsObjects: true });

export function encodeHeader(header: Header): Buffer {
  return headerPackr.pack(header);
}

/** Task ids carry the submitter's index in their high bits so the broker routes results without a lookup. */
const SUBMITTER_SHIFT = 2 ** 32;
export function makeTaskId(submitterIndex: number, seq: number): number {
  return submitterIndex * SUBMITTER_SHIFT + seq;
}
export function submitterOf(taskId: number): number {
  return Math.floor(taskId / SUBMITTER_SHIFT);
}

const isUint = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isUintArray = (v: unknown): v is number[] => Array.isArray(v) && v.every(isUint);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");

/**
 * Decodes and validates frame 0 against the payload frame count. Anything off-shape is a
 * {@link ProtocolError}, so a receiver can drop the message and count it instead of crashing.
 */
export function decodeHeader(frame: Buffer, payloadFrames: number): Header {
  let h: unknown;
  try {
    h = headerPackr.unpack(frame);
  } catch (err) {
    throw new ProtocolError(`undecodable header (${(err as Error).message})`);
  }
  if (!Array.isArray(h) || !isUint(h[0])) throw new ProtocolError("header is not [type, ...]");
  const bad = (what: string): never => {
    throw new ProtocolError(`malformed ${what} message`);
  };
  switch (h[0] as MessageType) {
    case MessageType.Hello:
      if (typeof h[1] !== "object" || h[1] === null) bad("HELLO");
      return h as Header;
    case MessageType.Welcome:
      if (typeof h[1] !== "object" || h[1] === null || !isStringArray(h[2])) bad("WELCOME");
      if ((h[2] as string[]).length !== payloadFrames) bad("WELCOME");
      return h as Header;
    case MessageType.Refuse:
      if (typeof h[1] !== "string") bad("REFUSE");
      return h as Header;
    case MessageType.Request:
      if (!isUint(h[1]) || (h.length > 2 && h[2] !== 0 && h[2] !== 1)) bad("REQUEST");
      return h as Header;
    case MessageType.Idle:
      if (h[1] !== 0 && h[1] !== 1) bad("IDLE");
      return h as Header;
    case MessageType.Submit:
    case MessageType.Tasks:
    case MessageType.Result:
    case MessageType.Results: {
      const [, ids, counts] = h;
      if (!isUintArray(ids) || !isUintArray(counts) || ids.length !== counts.length) bad("task batch");
      // A RESULT item may have no frame: the sender ran its own task and settled it itself.
      const min = h[0] === MessageType.Result ? 0 : 1;
      let total = 0;
      for (const c of counts as number[]) {
        if (c < min) bad("task batch");
        total += c;
      }
      if (total !== payloadFrames) bad("task batch");
      if (h[0] === MessageType.Result && h.length > 3 && (h.length !== 5 || !isUint(h[3]) || (h[4] !== 0 && h[4] !== 1))) bad("RESULT");
      return h as Header;
    }
    case MessageType.Cancel:
      if (!isUintArray(h[1])) bad("CANCEL");
      return h as Header;
    case MessageType.SetConst:
      if (!isUint(h[1]) || !isStringArray(h[2]) || h[2].length !== payloadFrames) bad("SET_CONST");
      return h as Header;
    case MessageType.ConstAck:
      if (!isUint(h[1]) || (h[2] !== null && typeof h[2] !== "string")) bad("CONST_ACK");
      return h as Header;
    case MessageType.GetConst:
      if (typeof h[1] !== "string") bad("GET_CONST");
      return h as Header;
    case MessageType.Const:
      if (!isStringArray(h[1]) || h[1].length !== payloadFrames) bad("CONST");
      return h as Header;
    case MessageType.Shutdown:
      if (!isUint(h[1])) bad("SHUTDOWN");
      return h as Header;
    case MessageType.Heartbeat:
      if (h.length !== 1 && (h.length !== 3 || !isUint(h[1]) || typeof h[2] !== "string")) bad("HEARTBEAT");
      return h as Header;
    case MessageType.Bye:
      return h as Header;
    case MessageType.Lost:
      if (!isUintArray(h[1]) || !isStringArray(h[2]) || h[1].length !== h[2].length) bad("LOST");
      return h as Header;
    case MessageType.Info:
      if (typeof h[1] !== "object" || h[1] === null) bad("INFO");
      return h as Header;
    case MessageType.Telemetry:
      if (h.length !== 1 || payloadFrames !== 1) bad("TELEMETRY");
      return h as Header;
    case MessageType.Release:
      if (!isUint(h[1]) || h[1] < 1 || payloadFrames !== 0) bad("RELEASE");
      return h as Header;
    case MessageType.Returned:
      if (!isUintArray(h[1]) || payloadFrames !== 0) bad("RETURNED");
      return h as Header;
    default:
      throw new ProtocolError(`unknown message type ${String(h[0])}`);
  }
}
