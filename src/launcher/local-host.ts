/**
 * Is a host name this machine? Answered from names and addresses this machine knows about itself,
 * never from DNS (a lookup can hang, fail offline, or resolve an ssh config alias to the wrong
 * place: SCOOP issues #45 and #49).
 *
 * Local: `localhost`, `127.0.0.1`, `::1`, this machine's host name (and its first label when the
 * host name is a fully qualified one), and the addresses of its network interfaces. Other loopback
 * addresses such as 127.0.0.2 are deliberately *not* local: they reach this machine only through
 * whatever listens on them (an sshd, in the tests), so they are launched over ssh like any host.
 * `user@host` is always remote: the user asked for another account.
 */
import { hostname, networkInterfaces } from "node:os";

let cache: Set<string> | undefined;

function localNames(): Set<string> {
  if (cache) return cache;
  const names = new Set(["localhost", "localhost.localdomain", "ip6-localhost", "127.0.0.1", "::1"]);
  const own = hostname().toLowerCase();
  if (own) {
    names.add(own);
    const short = own.split(".")[0]!;
    if (short) names.add(short);
  }
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) names.add(a.address.toLowerCase().replace(/%.*$/, ""));
  }
  cache = names;
  return names;
}

/** True when `host` names this machine (see the module comment for the rules). */
export function isLocalHost(host: string): boolean {
  if (host.includes("@")) return false;
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
  return localNames().has(h);
}

/** Addresses of this machine that other machines may reach: non-internal, IPv4 first. */
export function externalAddresses(): string[] {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === "IPv4") v4.push(a.address);
      else if (!a.address.toLowerCase().startsWith("fe80")) v6.push(a.address);
    }
  }
  return [...v4, ...v6];
}
