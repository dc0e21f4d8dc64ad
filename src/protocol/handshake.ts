/**
 * Handshake rules shared by both ends. Each side checks the other's facts so that a mismatch is
 * reported in one line naming both versions, never as a decoding failure later on.
 */
import { PACKAGE_VERSION, PROTOCOL_VERSION } from "../version.js";
import type { HelloInfo, WelcomeInfo } from "./messages.js";

function describe(version: unknown, protocol: unknown): string {
  return `scoop ${String(version)} (protocol ${String(protocol)})`;
}

/** Why the broker must refuse this HELLO, or undefined when it is acceptable. */
export function checkHello(hello: Partial<HelloInfo>, broker: { brokerName: string }): string | undefined {
  if (hello.protocol !== PROTOCOL_VERSION || hello.version !== PACKAGE_VERSION) {
    return (
      `version mismatch: worker "${String(hello.name)}" runs ${describe(hello.version, hello.protocol)}, ` +
      `broker "${broker.brokerName}" runs ${describe(PACKAGE_VERSION, PROTOCOL_VERSION)}`
    );
  }
  if (typeof hello.name !== "string" || hello.name.length === 0) return "worker name is missing";
  if (typeof hello.host !== "string" || typeof hello.pid !== "number" || typeof hello.origin !== "boolean") {
    return `malformed HELLO from worker "${hello.name}"`;
  }
  if (hello.brokerName !== broker.brokerName) {
    return `worker "${hello.name}" expects broker "${String(hello.brokerName)}" (BROKER_NAME) but this broker is "${broker.brokerName}"`;
  }
  return undefined;
}

/** Why the worker must not trust this WELCOME, or undefined. */
export function checkWelcome(welcome: Partial<WelcomeInfo>): string | undefined {
  if (welcome.protocol !== PROTOCOL_VERSION || welcome.version !== PACKAGE_VERSION) {
    return (
      `version mismatch: broker "${String(welcome.brokerName)}" runs ${describe(welcome.version, welcome.protocol)}, ` +
      `this worker runs ${describe(PACKAGE_VERSION, PROTOCOL_VERSION)}`
    );
  }
  if (typeof welcome.index !== "number" || welcome.index < 1) return "malformed WELCOME from the broker";
  return undefined;
}
