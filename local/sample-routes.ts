/**
 * The two sample routes behind the authorizer that `npm start` serves (README.md, "Endpoints"):
 * `GET /whoami` echoes the authorizer context; `GET /admin` is configured to need scope `admin`.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

function authorizerContext(event: APIGatewayProxyEventV2): Record<string, unknown> {
  const requestContext: Record<string, unknown> = { ...event.requestContext };
  const authorizer = requestContext['authorizer'];
  if (typeof authorizer !== 'object' || authorizer === null || !('lambda' in authorizer)) return {};
  const context = authorizer.lambda;
  return typeof context === 'object' && context !== null ? { ...context } : {};
}

function pick(context: Record<string, unknown>): Record<string, unknown> {
  const { sub, scope, sid, jti, client_id: clientId } = context;
  return { sub, scope, sid, jti, client_id: clientId };
}

const ok = (body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode: 200,
  headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' },
  body: JSON.stringify(body),
});

export async function whoami(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  return ok(pick(authorizerContext(event)));
}

export async function admin(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  return ok({ message: 'Welcome, administrator.', ...pick(authorizerContext(event)) });
}
