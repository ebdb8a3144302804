/**
 * Errors the stand-in returns, shaped as KMS returns them on the AWS JSON 1.1 protocol:
 * an HTTP status, a body `{"__type": "<Code>", "message": "..."}` and the header
 * `x-amzn-ErrorType: <Code>`. The SDK turns `<Code>` into the exception class of that name
 * (e.g. `NotFoundException`), so `err.name` in callers matches real KMS.
 *
 * Codes and their meaning: the "Errors" section of each operation in the KMS API reference
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html etc.) and the common errors
 * (https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html).
 */
export const KMS_ERROR_CODES = [
  // Operation errors (KMS API reference, per operation)
  'AlreadyExistsException',
  'DependencyTimeoutException',
  'DisabledException',
  'DryRunOperationException',
  'IncorrectKeyException',
  'InvalidCiphertextException',
  'InvalidAliasNameException',
  'InvalidArnException',
  'InvalidKeyUsageException',
  'InvalidMarkerException',
  'KeyUnavailableException',
  'KMSInternalException',
  'KMSInvalidSignatureException',
  'KMSInvalidStateException',
  'LimitExceededException',
  'MalformedPolicyDocumentException',
  'NotFoundException',
  'TagException',
  'UnsupportedOperationException',
  // Common errors (all AWS JSON services)
  'AccessDeniedException',
  'IncompleteSignature',
  'InternalFailure',
  'MissingAuthenticationToken',
  'SerializationException',
  'ThrottlingException',
  'UnknownOperationException',
  'ValidationException',
] as const;
export type KmsErrorCode = (typeof KMS_ERROR_CODES)[number];

export function isKmsErrorCode(value: string): value is KmsErrorCode {
  return (KMS_ERROR_CODES as readonly string[]).includes(value);
}

/** Default HTTP status per code: 400 for client faults, 500 for server faults. */
export function defaultStatus(code: string): number {
  switch (code) {
    case 'DependencyTimeoutException':
    case 'KeyUnavailableException':
    case 'KMSInternalException':
    case 'InternalFailure':
      return 500;
    case 'MissingAuthenticationToken':
      return 403; // CommonErrors: MissingAuthenticationToken, HTTP 403
    default:
      return 400;
  }
}

export class KmsError extends Error {
  override readonly name = 'KmsError';
  readonly status: number;

  constructor(
    readonly code: KmsErrorCode,
    message: string,
    status?: number,
  ) {
    super(message);
    this.status = status ?? defaultStatus(code);
  }
}

/** The Coral-style message KMS uses for a constraint on an input member. */
export function validationError(detail: string): KmsError {
  return new KmsError('ValidationException', `1 validation error detected: ${detail}`);
}
