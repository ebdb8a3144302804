/**
 * `npm start`: the whole service on this machine, no AWS account. Ctrl-C, or SIGTERM to the npm
 * process, stops everything it started (the gateway, DynamoDB Local's JVM, the KMS stand-in) and
 * removes the state file. A failure to start is one line on stderr and a non-zero exit.
 */
import { localStateDir } from '../cli/local-state.ts';
import { DynamoDbLocalError } from './dynamodb-local.ts';
import { DEMO_SCOPES, DEMO_USERNAME, LocalStartError, shellSettings, startLocalService, type LocalService } from './service.ts';

/** Past this, a stop that hangs (a JVM ignoring SIGTERM and SIGKILL) ends the process anyway. */
const STOP_DEADLINE_MS = 15_000;

const port = Number(process.env['PORT'] ?? '3000');
if (process.env['PORT']?.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number (0-65535), got "${process.env['PORT']}".`);
  process.exit(2);
}

const signingAlg = process.env['SIGNING_ALG'];
if (signingAlg !== undefined && signingAlg !== 'RS256' && signingAlg !== 'ES256') {
  console.error(`SIGNING_ALG must be RS256 (the default) or ES256, got "${signingAlg}".`);
  process.exit(2);
}

let service: LocalService | undefined;
let stopping = false;
const shutdown = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  const code = signal === 'SIGINT' ? 130 : 143;
  // Still starting: exiting runs DynamoDB Local's exit hook, which kills its JVM.
  if (service === undefined) process.exit(code);
  console.log(`\n${signal}: stopping…`);
  setTimeout(() => process.exit(1), STOP_DEADLINE_MS).unref();
  service.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGHUP', () => shutdown('SIGHUP'));

console.log('Starting kms-jwt-auth locally: DynamoDB Local (Java), the KMS stand-in, the gateway…');
try {
  service = await startLocalService({
    port,
    host: process.env['HOST'] ?? '127.0.0.1',
    ...(process.env['DEMO_PASSWORD'] ? { demoPassword: process.env['DEMO_PASSWORD'] } : {}),
    ...(signingAlg !== undefined ? { signingAlg } : {}),
    stateDir: localStateDir(process.env),
    env: shellSettings(process.env),
  });
} catch (error) {
  if (error instanceof LocalStartError || error instanceof DynamoDbLocalError) {
    console.error(error.message);
  } else {
    console.error('npm start failed:', error);
  }
  process.exit(1);
}
if (stopping) {
  // A signal arrived while the service was starting.
  await service.stop();
  process.exit(1);
}

console.log(guide(service));

/**
 * What to paste. Every line is one shell command (bash or zsh) that works when pasted in order
 * into one shell; the number after `#` is the HTTP status it answers with (the tests run these
 * lines and check that). The passwords are never spliced into a command unquoted: the generated
 * one is base64url, and DEMO_PASSWORD is read from the shell and JSON-encoded by node.
 */
function guide(s: LocalService): string {
  const u = s.url;
  const json = "-H 'Content-Type: application/json'";
  const loginBody = s.demoPasswordGenerated
    ? `-d '${JSON.stringify({ username: DEMO_USERNAME, password: s.demoPassword })}'`
    : `-d "$(node -p 'JSON.stringify({ username: "${DEMO_USERNAME}", password: process.argv[1] })' "$DEMO_PASSWORD")"`;
  // With DEMO_PASSWORD, refuse before calling the service if the shell lacks it: an empty password
  // would only be a failed login that counts against the throttle.
  const guard = s.demoPasswordGenerated ? '' : ': "${DEMO_PASSWORD:?set DEMO_PASSWORD to the demo password first}" && ';
  const login = `${guard}LOGIN=$(curl -s -X POST ${u}/login ${json} ${loginBody}) && echo "$LOGIN"`;
  const tokens = (from: string): string => `AT=$(token "$${from}" access_token) && RT=$(token "$${from}" refresh_token)`;
  const token =
    `token() { node -e 'const v = JSON.parse(process.argv[1])[process.argv[2]]; ` +
    `if (typeof v !== "string") { console.error("no " + process.argv[2] + " in " + process.argv[1]); process.exit(1); } ` +
    `console.log(v)' "$1" "$2"; }`;
  const password = s.demoPasswordGenerated
    ? `${s.demoPassword}   (generated; set DEMO_PASSWORD to choose one)`
    : '(from DEMO_PASSWORD; the commands below read it from your shell)';
  return `
kms-jwt-auth is running at ${u}
  DynamoDB Local ${s.dynamo.endpoint} (in memory)   KMS stand-in ${s.kms.endpoint}
  signing key ${s.signingKeyArn}

Demo user: ${DEMO_USERNAME}  scopes: ${DEMO_SCOPES.join(' ')} (no admin)
  password: ${password}

Try it (paste these lines in order into one bash or zsh; they use curl and node):
  curl -s -w '\\n' ${u}/.well-known/jwks.json                     # 200: the public keys
  curl -s -w '\\n' ${u}/.well-known/openid-configuration          # 200: discovery
  ${token}
  ${login}   # 200: a token response
  ${tokens('LOGIN')}
  curl -s -w '\\n' ${u}/whoami -H "Authorization: Bearer $AT"     # 200: the authorizer context
  curl -s -i -w '\\n' ${u}/admin -H "Authorization: Bearer $AT"   # 403: demo lacks scope admin
  NEXT=$(curl -s -X POST ${u}/refresh ${json} -d "{\\"refresh_token\\":\\"$RT\\"}") && echo "$NEXT"   # 200: new tokens; the old refresh token is spent
  ${tokens('NEXT')}
  curl -s -w '\\n' -X POST ${u}/revoke ${json} -d "{\\"token\\":\\"$RT\\"}"   # 200: ends this session
  curl -s -w '\\n' ${u}/whoami -H "Authorization: Bearer $AT"     # 401: the session's access tokens stopped at once
  ${login}   # 200: a new session
  ${tokens('LOGIN')}
  curl -s -w '\\n' -X POST ${u}/logout-all -H "Authorization: Bearer $AT"   # 200: ends every session of the caller

Passkeys in a browser: http://localhost:${s.port}/passkey-demo   (localhost, not an IP: WebAuthn needs a domain)
Operator CLI against this service:  npm run admin -- --local help
Press Ctrl-C to stop.
`;
}
