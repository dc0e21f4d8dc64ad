/**
 * Observation of a pool from the broker's process: an {@link Observer} fed by the broker, a web
 * dashboard (a static page plus server-sent events) and Prometheus metrics, each on its own HTTP
 * port. `scoop --dashboard [PORT] --metrics PORT` and `Pool.start({ dashboard, metrics })` use it.
 *
 * Everything the page needs is served from this package and node_modules (uPlot), nothing from a
 * CDN, so it works on a cluster node without Internet access. Bound to loopback unless told
 * otherwise; on loopback, requests naming another host are refused (DNS rebinding).
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Registry } from "prom-client";
import type { Broker } from "../broker/broker.js";
import { ConfigError } from "../errors.js";
import { isLoopbackEndpoint } from "../protocol/address.js";
import { createMetrics } from "./metrics.js";
import { Observer, type Snapshot } from "./observer.js";

export interface ServeOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Bind address. Default 127.0.0.1. */
  host?: string;
  /** When `port` is taken, take a free one instead of failing. */
  fallback?: boolean;
}

export interface ObservationOptions {
  dashboard?: ServeOptions;
  metrics?: ServeOptions;
}

/** A client whose unsent data grows past this is dropped (its EventSource reconnects and starts over). */
const MAX_CLIENT_BACKLOG = 8 * 2 ** 20;

const PAGE_DIR = fileURLToPath(new URL("../../src/observe/page/", import.meta.url));
const UPLOT_DIR = join(dirname(createRequire(import.meta.url).resolve("uplot/package.json")), "dist");

const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: join(PAGE_DIR, "index.html"), type: "text/html; charset=utf-8" },
  "/index.html": { file: join(PAGE_DIR, "index.html"), type: "text/html; charset=utf-8" },
  "/dashboard.js": { file: join(PAGE_DIR, "dashboard.js"), type: "text/javascript; charset=utf-8" },
  "/dashboard.css": { file: join(PAGE_DIR, "dashboard.css"), type: "text/css; charset=utf-8" },
  "/vendor/uPlot.iife.min.js": { file: join(UPLOT_DIR, "uPlot.iife.min.js"), type: "text/javascript; charset=utf-8" },
  "/vendor/uPlot.min.css": { file: join(UPLOT_DIR, "uPlot.min.css"), type: "text/css; charset=utf-8" },
};

const SECURITY_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
};

function hostForUrl(host: string): string {
  if (host === "0.0.0.0" || host === "::") return hostname();
  return host.includes(":") ? `[${host}]` : host;
}

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || isLoopbackEndpoint(`tcp://${host.includes(":") ? `[${host}]` : host}:1`);
}

/** Host names a loopback-bound server answers to; anything else is refused (DNS rebinding). */
function hostAllowed(header: string | undefined, bindHost: string): boolean {
  if (!isLoopbackHost(bindHost)) return true;
  if (!header) return false;
  const name = header.startsWith("[") ? header.slice(1, header.indexOf("]")) : header.replace(/:\d+$/, "");
  return name === "localhost" || name === bindHost || isLoopbackHost(name);
}

async function listen(server: Server, o: ServeOptions, what: string): Promise<{ host: string; port: number }> {
  const host = o.host ?? "127.0.0.1";
  const attempt = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const onError = (err: Error) => {
        server.off("listening", onListening);
        reject(err);
      };
      const onListening = () => {
        server.off("error", onError);
        const a = server.address();
        resolve(a && typeof a === "object" ? a.port : port);
      };
      server.once("error", onError);
      server.once("listening", onListening);
      server.listen({ host, port, exclusive: true });
    });
  try {
    return { host, port: await attempt(o.port) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" && o.fallback) return { host, port: await attempt(0) };
    throw new ConfigError(`cannot serve the ${what} on ${hostForUrl(host)}:${o.port}: ${code ?? (err as Error).message}`);
  }
}

/** The observer, the dashboard and the metrics of one pool. */
export class Observation {
  readonly observer = new Observer();
  /** `http://host:port/` of the dashboard, when one is served. */
  dashboardUrl: string | undefined;
  /** `http://host:port/metrics`, when metrics are served. */
  metricsUrl: string | undefined;
  private readonly servers: Server[] = [];
  private readonly clients = new Set<ServerResponse>();
  private unsubscribe: (() => void) | undefined;
  private metrics: Registry | undefined;
  private readonly assetCache = new Map<string, Buffer>();
  private closed = false;

  private constructor() {}

  /** Starts the servers asked for (ports are bound before any worker starts, so a clash fails early). */
  static async start(o: ObservationOptions): Promise<Observation> {
    const obs = new Observation();
    try {
      if (o.dashboard) {
        const bindHost = o.dashboard.host ?? "127.0.0.1";
        const server = createServer((req, res) => obs.serveDashboard(req, res, bindHost));
        obs.servers.push(server);
        const { host, port } = await listen(server, o.dashboard, "dashboard");
        obs.dashboardUrl = `http://${hostForUrl(host)}:${port}/`;
      }
      if (o.metrics) {
        const bindHost = o.metrics.host ?? "127.0.0.1";
        const server = createServer((req, res) => obs.serveMetrics(req, res, bindHost));
        obs.servers.push(server);
        const { host, port } = await listen(server, o.metrics, "metrics");
        obs.metricsUrl = `http://${hostForUrl(host)}:${port}/metrics`;
      }
    } catch (err) {
      await obs.close();
      throw err;
    }
    return obs;
  }

  /** Follows `broker` (which must have been started with `observer: this.observer`). */
  attach(broker: Broker): void {
    this.observer.attach(broker);
  }

  /** Sends the last state to open pages, then closes every connection and server. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.observer.stop();
    this.unsubscribe?.();
    for (const c of this.clients) c.end();
    this.clients.clear();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (!s.listening) return resolve();
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  private refuse(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", ...SECURITY_HEADERS });
    res.end(`${text}\n`);
  }

  private serveDashboard(req: IncomingMessage, res: ServerResponse, bindHost: string): void {
    if (!hostAllowed(req.headers.host, bindHost)) return this.refuse(res, 403, "unknown host name");
    if (req.method !== "GET" && req.method !== "HEAD") return this.refuse(res, 405, "method not allowed");
    const path = (req.url ?? "/").split("?")[0]!;
    if (path === "/events") return this.openStream(req, res);
    if (path === "/state.json") {
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store", ...SECURITY_HEADERS });
      res.end(req.method === "HEAD" ? undefined : JSON.stringify(this.observer.snapshot()));
      return;
    }
    if (path === "/metrics") return this.serveMetrics(req, res, bindHost);
    if (path === "/favicon.ico") {
      res.writeHead(204);
      res.end();
      return;
    }
    const asset = ASSETS[path];
    if (!asset) return this.refuse(res, 404, "not found");
    let body = this.assetCache.get(asset.file);
    if (!body) {
      try {
        body = readFileSync(asset.file);
      } catch (err) {
        return this.refuse(res, 500, `cannot read ${asset.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      this.assetCache.set(asset.file, body);
    }
    res.writeHead(200, { "Content-Type": asset.type, "Content-Length": body.length, "Cache-Control": "no-cache", ...SECURITY_HEADERS });
    res.end(req.method === "HEAD" ? undefined : body);
  }

  private serveMetrics(req: IncomingMessage, res: ServerResponse, bindHost: string): void {
    if (!hostAllowed(req.headers.host, bindHost)) return this.refuse(res, 403, "unknown host name");
    const path = (req.url ?? "/").split("?")[0]!;
    if (path !== "/metrics" && path !== "/") return this.refuse(res, 404, "not found: the metrics are at /metrics");
    this.metrics ??= createMetrics(this.observer);
    const registry = this.metrics;
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { "Content-Type": registry.contentType, "Cache-Control": "no-store", ...SECURITY_HEADERS });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (err: Error) => this.refuse(res, 500, `metrics failed: ${err.message}`),
    );
  }

  /** Server-sent events: `init` with the whole picture, then a `tick` with the changes every sample. */
  private openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      ...SECURITY_HEADERS,
    });
    res.write(`retry: 1000\n\nevent: init\ndata: ${JSON.stringify(this.observer.snapshot())}\n\n`);
    this.clients.add(res);
    this.unsubscribe ??= this.observer.subscribe((tick) => this.broadcast(tick));
    const gone = () => {
      this.clients.delete(res);
      if (this.clients.size === 0 && this.unsubscribe) {
        this.unsubscribe();
        this.unsubscribe = undefined;
      }
    };
    req.on("close", gone);
    res.on("error", gone);
  }

  private broadcast(tick: Snapshot): void {
    const text = `event: tick\ndata: ${JSON.stringify(tick)}\n\n`;
    for (const c of this.clients) {
      if (c.writableLength > MAX_CLIENT_BACKLOG) {
        c.destroy();
        continue;
      }
      c.write(text);
    }
  }
}
