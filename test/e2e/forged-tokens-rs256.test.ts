/** The forged-token corpus (test/support/forged-tokens.ts) against the local service signing RS256, the default. */
import { describeForgedTokens } from '../support/forged-tokens.ts';

describeForgedTokens('RS256');
