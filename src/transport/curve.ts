/**
 * CurveZMQ for a pool: one key file per run holds the broker's key pair and the members' key pair.
 * Holding the file is membership: the broker encrypts every socket and, through a ZAP handler,
 * admits only clients that present the members' public key; anyone else's handshake fails.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { curveKeyPair, Router } from "zeromq";
import { ConfigError } from "../errors.js";

export interface PoolKeys {
  serverPublic: string;
  serverSecret: string;
  clientPublic: string;
  clientSecret: string;
}

const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

export function generateKeys(): PoolKeys {
  const server = curveKeyPair();
  const client = curveKeyPair();
  return { serverPublic: server.publicKey, serverSecret: server.secretKey, clientPublic: client.publicKey, clientSecret: client.secretKey };
}

export function serializeKeys(k: PoolKeys): string {
  return `${JSON.stringify(k, null, 2)}\n`;
}

/** Parses key material (the file's text); `source` names it in errors. */
export function parseKeys(text: string, source: string): PoolKeys {
  let k: Partial<PoolKeys>;
  try {
    k = JSON.parse(text) as Partial<PoolKeys>;
  } catch {
    throw new ConfigError(`${source} is not a scoop key file (make one with: npx scoop keygen DIR)`);
  }
  for (const f of ["serverPublic", "serverSecret", "clientPublic", "clientSecret"] as const) {
    if (typeof k[f] !== "string" || !Z85_KEY.test(k[f]!)) throw new ConfigError(`${source}: "${f}" is missing or not a 40-character Z85 key`);
  }
  return k as PoolKeys;
}

export function readKeyFile(path: string): PoolKeys {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseKeys(text, `key file ${path}`);
}

/** Writes DIR/pool.key readable by its owner only; returns its path. */
export function writeKeyFile(dir: string, keys: PoolKeys = generateKeys()): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, "pool.key");
  writeFileSync(path, serializeKeys(keys), { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** Keys from SCOOP_KEY (the file's content, for launchers that pass it without a file) or SCOOP_KEY_FILE. */
export function keysFromEnv(env: NodeJS.ProcessEnv): PoolKeys | undefined {
  if (env.SCOOP_KEY) return parseKeys(env.SCOOP_KEY, "SCOOP_KEY");
  if (env.SCOOP_KEY_FILE) return readKeyFile(env.SCOOP_KEY_FILE);
  return undefined;
}

export const ZAP_DOMAIN = "scoop";

export function serverSocketOptions(k: PoolKeys): Record<string, unknown> {
  return { curveServer: true, curveSecretKey: k.serverSecret, curvePublicKey: k.serverPublic, zapDomain: ZAP_DOMAIN };
}

export function clientSocketOptions(k: PoolKeys): Record<string, unknown> {
  return { curveServerKey: k.serverPublic, curvePublicKey: k.clientPublic, curveSecretKey: k.clientSecret };
}

/**
 * The ZAP handler (RFC 27) of this process's ZeroMQ context: libzmq asks it about every CURVE
 * handshake on a socket with our domain; only the members' public key is admitted.
 */
export class ZapHandler {
  private readonly router = new Router({ linger: 0 });
  private closed = false;
  denied = 0;

  private constructor(private readonly allowedKey: Buffer) {}

  static async start(keys: PoolKeys): Promise<ZapHandler> {
    const h = new ZapHandler(z85Decode(keys.clientPublic));
    await h.router.bind("inproc://zeromq.zap.01");
    void h.serve();
    return h;
  }

  private async serve(): Promise<void> {
    try {
      for await (const msg of this.router) {
        // [routing id, "", version, request id, domain, address, identity, mechanism, ...credentials]
        const [id, , version, requestId, domain, , , mechanism, key] = msg;
        const ok = version?.toString() === "1.0" && domain?.toString() === ZAP_DOMAIN && mechanism?.toString() === "CURVE" && key !== undefined && key.equals(this.allowedKey);
        if (!ok) this.denied++;
        await this.router.send([id!, Buffer.alloc(0), Buffer.from("1.0"), requestId!, Buffer.from(ok ? "200" : "400"), Buffer.from(ok ? "OK" : "not a member of this pool"), Buffer.from(ok ? "member" : ""), Buffer.alloc(0)]);
      }
    } catch {
      if (!this.closed) throw new Error("ZAP handler stopped");
    }
  }

  close(): void {
    this.closed = true;
    this.router.close();
  }
}

const Z85_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const Z85_INDEX = new Map([...Z85_CHARS].map((c, i) => [c, i]));

/** Z85 (ZeroMQ RFC 32) to bytes: ZAP hands us raw 32-byte keys, the key file holds Z85 text. */
export function z85Decode(s: string): Buffer {
  const out = Buffer.alloc((s.length / 5) * 4);
  for (let i = 0, o = 0; i < s.length; i += 5, o += 4) {
    let v = 0;
    for (let j = 0; j < 5; j++) v = v * 85 + Z85_INDEX.get(s[i + j]!)!;
    out.writeUInt32BE(v >>> 0, o);
  }
  return out;
}
