/**
 * A real browser for the end-to-end tests: Debian's `chromium` package, driven by `playwright-core`
 * through its `executablePath` option (playwright-core ships no browser and downloads none), plus a
 * static page server on loopback that plays the web app's origin.
 *
 * Pages are reached as http://localhost:<port>: `localhost` is a potentially trustworthy origin
 * (W3C Secure Contexts, "Is origin potentially trustworthy?"), so Chromium accepts the service's
 * `Secure` / `__Secure-` cookies over plain HTTP there (the first test checks that it stored one),
 * and two ports of `localhost` are two origins (RFC 6454 §4) of one site (the HTML Standard's
 * "same site" ignores the port): the arrangement where `SameSite=Strict` still sends the cookie and
 * only the service's Origin check stops a forged request.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type BrowserContext, type Cookie, type Page } from 'playwright-core';
import { startLocalService, type LocalService } from '../../local/service.ts';
import { startRecordingProxy, type RecordingProxy } from './recording-proxy.ts';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

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

/** The refresh cookie's name in cookie mode (lambdas/http/cookie-mode.ts). */
export const REFRESH_COOKIE = '__Secure-refresh_token';

/**
 * A web app in cookie mode and everything around it: the local service (COOKIE_MODE=on, with the
 * app's origin as its only CORS origin), reached through a recorder; the app's origin and a
 * foreign origin, both on localhost and serving the same page; and Chromium.
 */
export interface CookieModeScene {
  readonly service: LocalService;
  readonly browser: Browser;
  readonly appPages: PageServer;
  readonly foreignPages: PageServer;
  /** What reached the service, in order. */
  readonly recorder: RecordingProxy;
  /** http://localhost:<port> of the API as the pages call it. */
  readonly apiOrigin: string;
  /** Opens `/` of an origin and waits until its script has set `window.app`. */
  openApp(origin: string): Promise<Page>;
  /** The refresh cookie as Chromium stores it (playwright reads HttpOnly cookies too). */
  refreshCookie(): Promise<Cookie | undefined>;
  close(): Promise<void>;
}

export interface CookieModeSceneOptions {
  readonly demoPassword: string;
  /** The app's module script, given the API origin (as an app's build would write it in). */
  readonly appScript: (apiOrigin: string) => string | Promise<string>;
}

export async function startCookieModeScene(options: CookieModeSceneOptions): Promise<CookieModeScene> {
  let appScript: string | undefined;
  // Cookies are per host, not per port (RFC 6265 §8.5): a page of either origin at /refresh/ is in
  // the refresh cookie's scope, so document.cookie there would show it were it not HttpOnly.
  const fileAt = (path: string): StaticFile | undefined => {
    if (path === '/') return htmlPage('/app.js');
    if (path === '/app.js' && appScript !== undefined) return script(appScript);
    if (path === '/refresh/probe') return { contentType: 'text/html; charset=utf-8', body: '<!doctype html><title>probe</title>' };
    return undefined;
  };
  const stops: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    // The page origins go into the service's CORS_ORIGINS, so they are bound first.
    const appPages = await servePages(fileAt);
    stops.push(() => appPages.close());
    const foreignPages = await servePages(fileAt);
    stops.push(() => foreignPages.close());
    const service = await startLocalService({
      port: 0,
      demoPassword: options.demoPassword,
      env: { COOKIE_MODE: 'on', CORS_ORIGINS: appPages.origin, REFRESH_COOKIE_PATH: '/refresh' },
    });
    stops.push(() => service.stop());
    // The browser reaches the gateway through a transparent recorder, which tells the tests what
    // reached the service when the browser hides the answer from a page.
    const recorder = await startRecordingProxy(service.url);
    stops.push(() => recorder.close());
    const apiOrigin = `http://localhost:${recorder.port}`;
    appScript = await options.appScript(apiOrigin);
    const browser = await launchChromium();
    stops.push(() => browser.close());
    return {
      service,
      browser,
      appPages,
      foreignPages,
      recorder,
      apiOrigin,
      openApp: async (origin) => {
        const page = await browser.context.newPage();
        await page.goto(`${origin}/`);
        await page.waitForFunction('window.app !== undefined', undefined, { timeout: BROWSER_WAIT_MS });
        return page;
      },
      refreshCookie: async () => (await browser.context.cookies(`${apiOrigin}/refresh`)).find((c) => c.name === REFRESH_COOKIE),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Bundles a page's module script for the browser with esbuild (ESM, platform browser), from source
 * given as a string and resolved from the repository's root, so it can import the package's own
 * TypeScript (the client library) the way an app's bundler would.
 */
export async function bundleForBrowser(source: string): Promise<string> {
  const result = await build({
    stdin: { contents: source, resolveDir: REPO_ROOT, sourcefile: 'page.js', loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error('esbuild wrote no bundle');
  return output.text;
}
