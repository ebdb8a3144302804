/**
 * `GET /passkey-demo`: a small page on the local gateway that tries passkeys end to end in a
 * browser — log in with a password, register a passkey, sign out, sign in with the passkey. It
 * is served from the API's own origin, http://localhost:<port>, the one origin the local
 * service's relying party accepts (WebAuthn refuses IP addresses as RP IDs, so open it as
 * localhost, not 127.0.0.1). The WebAuthn calls are @simplewebauthn/browser's, served from
 * node_modules at `GET /passkey-demo/simplewebauthn-browser.js`. Everything the page does is also
 * on `window.demo`, which test/e2e/browser-passkeys.test.ts drives.
 */
import { readFile } from 'node:fs/promises';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export const PASSKEY_DEMO_PATH = '/passkey-demo';
export const PASSKEY_DEMO_SCRIPT_PATH = '/passkey-demo/simplewebauthn-browser.js';

/** The package's UMD bundle (its `exports` name only the ESM entry, so the bundle is found beside it). */
const BROWSER_BUNDLE = new URL('../dist/bundle/index.umd.min.js', import.meta.resolve('@simplewebauthn/browser'));

const PAGE_SCRIPT = `
const { startRegistration, startAuthentication } = SimpleWebAuthnBrowser;
const out = document.getElementById('out');
const show = (value) => { out.textContent = JSON.stringify(value, null, 2); return value; };
async function call(method, path, body, token) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = 'Bearer ' + token;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed;
  try { parsed = text === '' ? {} : JSON.parse(text); } catch { parsed = { text }; }
  return { status: res.status, body: parsed };
}
const failure = (error) => ({ status: 0, error: String(error && error.name), message: String(error && error.message) });
const demo = {
  accessToken: null,
  refreshToken: null,
  keep(reply) {
    if (reply.status === 200 && reply.body.access_token) { demo.accessToken = reply.body.access_token; demo.refreshToken = reply.body.refresh_token; }
    return reply;
  },
  async login(username, password) { return show(demo.keep(await call('POST', '/login', { username, password }))); },
  async register(name) {
    const options = await call('POST', '/passkeys/register/options', undefined, demo.accessToken);
    if (options.status !== 200) return show(options);
    let response;
    try { response = await startRegistration({ optionsJSON: options.body }); } catch (error) { return show(failure(error)); }
    return show(await call('POST', '/passkeys/register/verify', name ? { response, name } : { response }, demo.accessToken));
  },
  async list() { return show(await call('GET', '/passkeys', undefined, demo.accessToken)); },
  async remove(id) { return show(await call('POST', '/passkeys/delete', { id }, demo.accessToken)); },
  async signOut() {
    const reply = demo.refreshToken ? await call('POST', '/revoke', { token: demo.refreshToken }) : { status: 200, body: {} };
    demo.accessToken = null; demo.refreshToken = null;
    return show(reply);
  },
  async signIn() {
    const options = await call('POST', '/login/passkey/options');
    if (options.status !== 200) return show(options);
    let response;
    try { response = await startAuthentication({ optionsJSON: options.body }); } catch (error) { return show(failure(error)); }
    const reply = demo.keep(await call('POST', '/login/passkey', { response, challenge_id: options.body.challenge }));
    return show({ ...reply, response });
  },
  async replay(response) { return show(await call('POST', '/login/passkey', { response })); },
  async whoami() { return show(await call('GET', '/whoami', undefined, demo.accessToken)); },
};
window.demo = demo;
const field = (id) => document.getElementById(id).value;
document.getElementById('login').onclick = () => demo.login(field('username'), field('password'));
document.getElementById('register').onclick = () => demo.register(field('name'));
document.getElementById('list').onclick = () => demo.list();
document.getElementById('signout').onclick = () => demo.signOut();
document.getElementById('signin').onclick = () => demo.signIn();
document.getElementById('whoami').onclick = () => demo.whoami();
`;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Passkeys — kms-jwt-auth (local)</title>
<script src="${PASSKEY_DEMO_SCRIPT_PATH}"></script></head>
<body>
<h1>Passkeys on the local service</h1>
<p>1. Log in with a password. 2. Register a passkey. 3. Sign out. 4. Sign in with the passkey (no username).</p>
<p><input id="username" value="demo" autocomplete="username"> <input id="password" type="password" placeholder="password" autocomplete="current-password">
<button id="login">Log in</button></p>
<p><input id="name" placeholder="passkey name (optional)"> <button id="register">Register a passkey</button> <button id="list">List passkeys</button></p>
<p><button id="signout">Sign out</button> <button id="signin">Sign in with a passkey</button> <button id="whoami">GET /whoami</button></p>
<pre id="out"></pre>
<script type="module">${PAGE_SCRIPT}</script>
</body></html>`;

const served = (contentType: string, body: string): APIGatewayProxyStructuredResultV2 => ({
  statusCode: 200,
  headers: { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' },
  body,
});

export async function passkeyDemoPage(): Promise<APIGatewayProxyStructuredResultV2> {
  return served('text/html; charset=utf-8', PAGE);
}

export async function passkeyDemoScript(): Promise<APIGatewayProxyStructuredResultV2> {
  return served('text/javascript; charset=utf-8', await readFile(BROWSER_BUNDLE, 'utf8'));
}
