/**
 * Endpoint validation for BROKER_ADDRESS / META_ADDRESS style values, so a typo is a one-line
 * configuration error instead of a silent connect to nowhere.
 */
import { ConfigError } from "../errors.js";

const TCP = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;
const IPC = /^ipc:\/\/.+$/;

/** Returns the address unchanged when valid, else throws ConfigError naming the setting. */
export function parseEndpoint(value: string, setting: string): string {
  const v = value.trim();
  if (IPC.test(v)) return v;
  const m = TCP.exec(v);
  if (!m) {
    throw new ConfigError(`${setting}="${value}" is not a valid address: expected tcp://HOST:PORT or ipc://PATH`);
  }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new ConfigError(`${setting}="${value}": port ${port} is out of range 1-65535`);
  return v;
}

/** True when the endpoint can only be reached from this machine. */
export function isLoopbackEndpoint(endpoint: string): boolean {
  if (endpoint.startsWith("ipc://")) return true;
  const m = TCP.exec(endpoint);
  if (!m) return false;
  const host = m[1]!.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}
