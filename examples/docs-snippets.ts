/**
 * The TypeScript snippets of docs/*.md, each inside the code that makes it a working program.
 *
 * Each `// #region <name>` … `// #endregion` below appears verbatim (dedented) as a ```ts block
 * in the docs; test/infra/docs-snippets.test.ts checks that every block of the docs is one of
 * these regions, and synthesizes this app, so a snippet that does not compile (`tsc`) or does not
 * synthesize fails the tests.
 *
 *   npx cdk synth --app "npx tsx examples/docs-snippets.ts"
 */
import { pathToFileURL } from 'node:url';
import { App, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import type { Construct } from 'constructs';
import type { AuthorizerContext, AuthorizerDecision } from '../lambdas/authorizer/authorizer-handler.ts';
import { KmsJwtAuth } from '../lib/kms-jwt-auth.ts';
import { KmsJwtAuthStack } from '../lib/kms-jwt-auth-stack.ts';
import { startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { AuthClientError, createAuthClient, RateLimitedError, type AuthClient, type TokenStorage } from '../client/index.ts';

/** docs/deploy.md, "The construct": the service in a stack of your own app. */
export class AuthServiceStack extends Stack {
  public readonly auth: KmsJwtAuth;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const certificate = acm.Certificate.fromCertificateArn(
      this,
      'Certificate',
      'arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000',
    );
    const hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: 'Z0000000000000000000',
      zoneName: 'example.com',
    });

    // #region construct
    const auth = new KmsJwtAuth(this, 'Auth', {
      customDomain: { domainName: 'auth.example.com', certificate, hostedZone },
      routeScopes: { 'GET /admin': ['admin'] },
    });
    // #endregion
    this.auth = auth;
  }
}

/** docs/deploy.md, "Attaching the authorizer to your APIs": APIs in another stack than the service. */
export class OrdersApisStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps & { readonly auth: KmsJwtAuth }) {
    super(scope, id, props);
    const auth = props.auth;
    const restApi = new apigw.RestApi(this, 'OrdersRestApi');
    const restIntegration = new apigw.HttpIntegration('https://orders.example.com/orders');
    const httpApi = new apigwv2.HttpApi(this, 'OrdersHttpApi');
    const httpIntegration = new HttpUrlIntegration('Orders', 'https://orders.example.com/orders');

    // #region attach
    // REST API (v1)
    const token = auth.restTokenAuthorizer(this, 'JwtAuthorizer');            // apigateway.TokenAuthorizer
    const request = auth.restRequestAuthorizer(this, 'JwtRequestAuthorizer'); // apigateway.RequestAuthorizer
    restApi.root.addResource('orders').addMethod('GET', restIntegration, { authorizer: token });
    restApi.root.addResource('reports').addMethod('GET', restIntegration, { authorizer: request });

    // HTTP API (v2), payload format 2.0
    const jwt = auth.httpLambdaAuthorizer(this, 'JwtAuthorizer');             // HttpLambdaAuthorizer
    httpApi.addRoutes({ path: '/orders', methods: [HttpMethod.GET], integration: httpIntegration, authorizer: jwt });
    // #endregion
  }
}

/** docs/deploy.md: a deployment made elsewhere, referenced by its `AuthorizerFunctionArn` output. */
export class ImportedAuthApiStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    // #region from-attributes
    const auth = KmsJwtAuth.fromAttributes(this, 'Auth', {
      authorizerFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:KmsJwtAuth-AuthorizerFunction0A1B2C3D-a1B2c3D4e5F6',
      authorizerResponse: 'simple', // the deployment's setting
    });
    // #endregion
    const httpApi = new apigwv2.HttpApi(this, 'HttpApi');
    httpApi.addRoutes({
      path: '/orders',
      methods: [HttpMethod.GET],
      integration: new HttpUrlIntegration('Orders', 'https://orders.example.com/orders'),
      authorizer: auth.httpLambdaAuthorizer(this, 'JwtAuthorizer'),
    });
  }
}

// docs/authorizer.md, "Decisions": the decision type, as exported by the authorizer's handler.
// #region authorizer-decision
type Decision =
  | { effect: 'allow'; context: AuthorizerContext } // sub, scope, sid, jti, client_id, amr, auth_time
  | { effect: 'deny'; status: 401; error: 'invalid_token'; description: string }
  | { effect: 'deny'; status: 403; error: 'insufficient_scope'; description: string; context: AuthorizerContext }
  | {
      effect: 'deny';
      status: 403;
      error: 'insufficient_user_authentication'; // RFC 9470
      description: string;
      maxAge: number | undefined;
      context: AuthorizerContext;
    }
  | { effect: 'deny'; status: 503; error: 'temporarily_unavailable'; description: string };
// #endregion

/** `true` only when A and B accept exactly the same values; tsc fails otherwise. */
type SameType<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compile-time check that the documented decision type is the real one. */
export const documentedDecisionIsExact: SameType<Decision, AuthorizerDecision> = true;

// docs/clients.md, "iOS and Android with Expo": the TokenStorage adapter for expo-secure-store,
// typed by the part of its API it uses, so that it compiles here without the package.
/** The part of `expo-secure-store` the adapter uses (pass the module: `import * as SecureStore`). */
export interface ExpoSecureStoreModule<Accessible> {
  getItemAsync(key: string, options?: { keychainAccessible?: Accessible }): Promise<string | null>;
  setItemAsync(key: string, value: string, options?: { keychainAccessible?: Accessible }): Promise<void>;
  deleteItemAsync(key: string, options?: { keychainAccessible?: Accessible }): Promise<void>;
}

// #region expo-secure-store
/** Keychain (iOS) / Keystore-encrypted storage (Android) through expo-secure-store. */
export function expoSecureStorage<A>(SecureStore: ExpoSecureStoreModule<A>, keychainAccessible: A): TokenStorage {
  const options = { keychainAccessible };
  return {
    get: async (key) => (await SecureStore.getItemAsync(key, options)) ?? undefined,
    set: (key, value) => SecureStore.setItemAsync(key, value, options),
    remove: (key) => SecureStore.deleteItemAsync(key, options),
  };
}
// #endregion

/** The part of `react-native-keychain` the adapter uses (pass the module: `import * as Keychain`). */
export interface KeychainModule<Accessible> {
  getGenericPassword(options: { service: string }): Promise<false | { password: string }>;
  setGenericPassword(username: string, password: string, options: { service: string; accessible: Accessible }): Promise<unknown>;
  resetGenericPassword(options: { service: string }): Promise<unknown>;
}

// #region react-native-keychain
/** Keychain (iOS) / Keystore (Android) through react-native-keychain: one entry per key. */
export function keychainStorage<A>(Keychain: KeychainModule<A>, accessible: A): TokenStorage {
  return {
    get: async (service) => {
      const entry = await Keychain.getGenericPassword({ service });
      return entry === false ? undefined : entry.password;
    },
    set: async (service, value) => {
      await Keychain.setGenericPassword('kms-jwt-auth', value, { service, accessible });
    },
    remove: async (service) => {
      await Keychain.resetGenericPassword({ service });
    },
  };
}
// #endregion

/** docs/clients.md, "Passkeys": signing in with a passkey through the client library. */
export async function passkeyExample(): Promise<AuthClient> {
  // #region passkey
  // import { startAuthentication } from '@simplewebauthn/browser';
  const auth = createAuthClient({ baseUrl: 'https://auth.example.com', cookieMode: true });
  await auth.loginWithPasskey((optionsJSON) => startAuthentication({ optionsJSON: optionsJSON as PublicKeyCredentialRequestOptionsJSON }));
  // #endregion
  return auth;
}

/** docs/clients.md, "The web: cookie mode": what a single-page app does. */
export async function browserExample(
  showSignIn: () => void,
  askForCredentials: () => Promise<{ username: string; password: string }>,
  askForCode: () => Promise<string>,
): Promise<AuthClient> {
  // #region browser
  const auth = createAuthClient({ baseUrl: 'https://auth.example.com', cookieMode: true });
  auth.onSessionEnded(() => showSignIn());

  // After a reload the access token is gone (memory only); the HttpOnly cookie brings it back.
  if (!(await auth.isSignedIn())) {
    const result = await auth.login(await askForCredentials());
    // An account with a second factor: the 6-digit code from the user's authenticator app.
    if (result.status === 'mfa_required') await auth.completeMfa({ mfaToken: result.mfaToken, otp: await askForCode() });
  }
  const orders = await auth.fetch('https://api.example.com/orders');
  // #endregion
  void orders;
  return auth;
}

/** docs/clients.md, "Errors": handling each failure of a call. */
export async function errorsExample(auth: AuthClient, show: (message: string) => void): Promise<void> {
  // #region errors
  try {
    await auth.fetch('https://api.example.com/orders', { method: 'POST', body: JSON.stringify({ item: 42 }) });
  } catch (error) {
    if (!(error instanceof AuthClientError)) throw error;
    switch (error.code) {
      case 'session_ended': // onSessionEnded has run already: the sign-in screen is showing
        break;
      case 'rate_limited':
      case 'unavailable':
        show(`Busy, try again ${error instanceof RateLimitedError ? `in ${error.retryAfterSeconds} s` : 'shortly'}.`);
        break;
      case 'network':
        show('You are offline; nothing was lost, try again.');
        break;
      default:
        show(error.message); // never contains a token or a password
    }
  }
  // #endregion
}

/** docs/deploy.md, "Install the package": the ready-made stack, with the outputs operators need. */
function addPackagedStack(app: App, env: { readonly account: string; readonly region: string }): KmsJwtAuthStack {
  // #region package-stack
  const authStack = new KmsJwtAuthStack(app, 'Auth', {
    env,
    auth: { accessTokenTtl: Duration.minutes(10), routeScopes: { 'GET /admin': ['admin'] } },
  });
  // #endregion
  return authStack;
}

/** Builds every snippet's stack into `app` (the tests synthesize it). */
export function buildDocsSnippetsApp(app: App): {
  service: AuthServiceStack;
  apis: OrdersApisStack;
  imported: ImportedAuthApiStack;
  packaged: KmsJwtAuthStack;
} {
  const env = { account: '111111111111', region: 'eu-west-1' };
  const service = new AuthServiceStack(app, 'DocsAuthService', { env });
  const apis = new OrdersApisStack(app, 'DocsOrdersApis', { env, auth: service.auth });
  const imported = new ImportedAuthApiStack(app, 'DocsImportedAuth', { env });
  const packaged = addPackagedStack(app, env);
  return { service, apis, imported, packaged };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildDocsSnippetsApp(new App());
}
