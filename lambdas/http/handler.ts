/**
 * The shape every HTTP Lambda shares: middy with header normalization, security headers, the
 * Powertools logger (request id as correlation id; the event itself is never logged, it carries
 * passwords and tokens), the one error boundary (`respond.ts`) and, when given, the function's
 * metrics, flushed once per invocation whatever the outcome (`metrics.ts`).
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpSecurityHeaders from '@middy/http-security-headers';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { errorResponse, type HttpResponse } from './respond.ts';

/**
 * Two of middy's defaults misfire in a Lambda response: `poweredBy` sets `Server` and
 * `X-Powered-By` to `undefined` (meant to unset them; nothing here sets them), and
 * `reportingEndpoints` with no endpoints adds an empty `Reporting-Endpoints`. A response must
 * carry only headers with values; the rest of the defaults (nosniff, HSTS, ...) stay.
 */
const SECURITY_HEADERS = { poweredBy: false, reportingEndpoints: false } as const;

/** What the pipeline needs of the metrics: publish what the invocation counted (never throws). */
interface Flushable {
  flush(): void;
}

type RouteHandler = (event: APIGatewayProxyEventV2, log: Logger) => Promise<HttpResponse>;

export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? serviceName });
}

export function httpHandler(log: Logger, route: RouteHandler, metrics?: Flushable): (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResponse> {
  // First in, so its `after` and `onError` run last: after the error boundary has counted a failure.
  const flush = (): void => metrics?.flush();
  return middy<APIGatewayProxyEventV2, HttpResponse>()
    .use({ after: flush, onError: flush })
    .use(injectLambdaContext(log, { logEvent: false, resetKeys: true }))
    .use(httpHeaderNormalizer())
    .use(httpSecurityHeaders(SECURITY_HEADERS))
    .use({
      before: (request) => {
        const requestId: unknown = request.event.requestContext?.requestId;
        if (typeof requestId === 'string') log.appendKeys({ correlation_id: requestId.slice(0, 100) });
      },
      onError: (request) => {
        request.response = errorResponse(request.error, log);
      },
    })
    .handler((event) => route(event, log));
}
