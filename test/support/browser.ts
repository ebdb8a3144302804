/**
 * A real browser for the end-to-end tests: Debian's `chromium` package, driven by `playwright-core`
 * through its `executablePath` option (playwright-core ships no browser and downloads none), plus a
 * static page server on loopback that plays the web app's origin.
 *
 * Pages are reached as http://localhost:<port>: `localhost` is a potentially trustworthy origin
 * (W3C Secure Contexts §3.2, "Is origin potentially trustworthy?"), so Chromium accepts the
 * service's `Secure` / `__Secure-` cookies over plain HTTP there, and two ports of `localhost` are
 * two origins of one site (RFC 6454 §4; the site ignores the port), the arrangement where
 * `SameSite=Strict` still sends the cookie and only the service's Origin check stops a forged
 * request.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/**
 * Debian's Chromium binary. `/usr/bin/chromium` is the package's shell launcher, which sources
 * /etc/chromium.d (desktop flags, bundled extensions); the tests run the browser itself with only
 * the flags below. CHROMIUM_PATH points elsewhere (another distribution's package).
 */
export function chromiumExecutable(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const path = env['CHROMIUM_PATH'] ?? '/usr/lib/chromium/chromium';
  if (!existsSync(path)) {
    throw new Error(`No Chromium at ${path}: install Debian's package (apt-get install chromium), or set CHROMIUM_PATH to a Chromium binary.`);
  }
  return path;
}

/**
 * Headless, no sandbox (CI runs as root in a container, where Chromium's sandbox cannot start),
 * no GPU, and nothing that reaches the network by itself: the test machine talks to loopback only.
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** Every wait in a browser test is bounded by this (ms); the whole file must finish well within a minute. */
export const BROWSER_WAIT_MS = 5_000;

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Starts Chromium with a fresh profile of its own (a new temporary user data dir, removed by
 * close()). playwright-core refuses `--user-data-dir` among the args; a persistent context is how
 * it takes one.
 */
export async function launchChromium(): Promise<Browser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'kms-jwt-auth-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumExecutable(),
      headless: true,
      args: [...CHROMIUM_FLAGS],
      timeout: 30_000,
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
  context.setDefaultTimeout(BROWSER_WAIT_MS);
  context.setDefaultNavigationTimeout(BROWSER_WAIT_MS);
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

export interface PageServer {
  /** http://localhost:<port>, the origin the browser sees. */
  readonly origin: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface StaticFile {
  readonly contentType: string;
  readonly body: string;
}

/**
 * Serves GET requests on 127.0.0.1 with the file `fileAt` gives for the path (undefined: 404), for
 * pages opened as http://localhost:<port>. Asked per request, so a page can name a port that is
 * bound after this server's.
 */
export async function servePages(fileAt: (path: string) => StaticFile | undefined): Promise<PageServer> {
  const server: Server = createServer((req, res) => {
    const file = fileAt(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (req.method !== 'GET' || file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.contentType, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://localhost:${port}`,
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An HTML page that loads one module script. */
export function htmlPage(scriptPath: string): StaticFile {
  return {
    contentType: 'text/html; charset=utf-8',
    body: `<!doctype html><html><head><meta charset="utf-8"><title>app</title><script type="module" src="${scriptPath}"></script></head><body></body></html>`,
  };
}

export function script(body: string): StaticFile {
  return { contentType: 'text/javascript; charset=utf-8', body };
}
