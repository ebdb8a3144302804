/**
 * The construct library as the package exports it (`import { KmsJwtAuth } from 'kms-jwt-auth'`):
 * the construct, its stack wrapper, the reference to a deployment made elsewhere, and the types
 * their props and attachment methods use.
 */
export { KmsJwtAuth } from './kms-jwt-auth.ts';
export type { AuthorizerResponse, CustomDomainOptions, KmsJwtAuthProps, LogLevel, ReusePolicy, SigningAlgorithm, ThrottleOptions } from './kms-jwt-auth.ts';
export { KmsJwtAuthStack, type KmsJwtAuthStackProps } from './kms-jwt-auth-stack.ts';
export { ImportedKmsJwtAuth, type KmsJwtAuthAttributes } from './imported-kms-jwt-auth.ts';
export {
  AuthorizerAttachment,
  routeRequirementStageVariables,
  type ApiRouteRequirements,
  type AuthorizerAttachmentOptions,
  type IKmsJwtAuthorizerSource,
  type RouteRequirementInput,
} from './authorizer-attachment.ts';
export { AuthFunction, type AuthFunctionCode, type AuthFunctionProps } from './auth-function.ts';
export { AuthAlarms, type AuthAlarmsProps } from './auth-alarms.ts';
export { AuthDashboard, type AuthDashboardProps } from './auth-dashboard.ts';
export { SigningKeys, type SigningKeysProps } from './signing-keys.ts';
export { FUNCTION_NAMES, type FunctionName } from './function-access.ts';
