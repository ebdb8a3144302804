/**
 * NFKC (Unicode Standard Annex #15), applied to a password before hashing and before verifying
 * (NIST SP 800-63B-4 §3.1.1.2), so that the same passphrase typed on different keyboards or input
 * methods (full-width letters, ligatures, precomposed or combining accents) is the same password.
 * ASCII is unchanged by NFKC, so every hash of an ASCII password stored before normalization keeps
 * verifying. A module of its own so that login does not bundle the new-password blocklist.
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}
