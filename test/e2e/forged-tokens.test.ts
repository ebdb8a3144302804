/** The forged-token corpus (test/support/forged-tokens.ts) against the local service signing ES256, the option for smaller tokens. */
import { describeForgedTokens } from '../support/forged-tokens.ts';

describeForgedTokens('ES256');
