/**
 * `npm start`: the whole service on this machine, no AWS account. Ctrl-C stops everything it
 * started (the gateway, DynamoDB Local's JVM, the KMS stand-in).
 */
import { DEMO_SCOPES, DEMO_USERNAME, LOCAL_STATE_DIR, startLocalService } from './service.ts';

const port = Number(process.env['PORT'] ?? '3000');
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number, got "${process.env['PORT']}".`);
  process.exit(2);
}

console.log('Starting kms-jwt-auth locally: DynamoDB Local (Java), the KMS stand-in, the gateway…');
const service = await startLocalService({
  port,
  host: process.env['HOST'] ?? '127.0.0.1',
  ...(process.env['DEMO_PASSWORD'] ? { demoPassword: process.env['DEMO_PASSWORD'] } : {}),
  ...(process.env['SIGNING_ALG'] === 'RS256' ? { signingAlg: 'RS256' as const } : {}),
  stateDir: LOCAL_STATE_DIR,
});

const u = service.url;
const pw = service.demoPasswordGenerated ? service.demoPassword : '$DEMO_PASSWORD';
console.log(`
kms-jwt-auth is running at ${u}
  DynamoDB Local ${service.dynamo.endpoint} (in memory)   KMS stand-in ${service.kms.endpoint}
  signing key ${service.signingKeyArn}

Demo user: ${DEMO_USERNAME}  scopes: ${DEMO_SCOPES.join(' ')} (no admin)
  password: ${service.demoPasswordGenerated ? `${service.demoPassword}   (generated; set DEMO_PASSWORD to choose one)` : '(from DEMO_PASSWORD)'}

Try it:
  curl -s ${u}/.well-known/jwks.json
  curl -s ${u}/.well-known/openid-configuration
  curl -s -X POST ${u}/login -H 'Content-Type: application/json' \\
       -d '{"username":"${DEMO_USERNAME}","password":"${pw}"}'
  export AT=<access_token> RT=<refresh_token>
  curl -s ${u}/whoami -H "Authorization: Bearer $AT"              # 200, the authorizer context
  curl -s -i ${u}/admin -H "Authorization: Bearer $AT"            # 403: demo lacks scope admin
  curl -s -X POST ${u}/refresh -H 'Content-Type: application/json' -d "{\\"refresh_token\\":\\"$RT\\"}"
  curl -s -X POST ${u}/revoke  -H 'Content-Type: application/json' -d "{\\"token\\":\\"$RT\\"}"
  curl -s -X POST ${u}/logout-all -H "Authorization: Bearer $AT"  # every session of the caller

Operator CLI against this service:  npm run admin -- --local help
Press Ctrl-C to stop.
`);

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping…`);
  service.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
