/**
 * Operator CLI: `kms-jwt-auth-admin [--local | --table NAME] <command> ...` where the package is
 * installed (its `bin`), `npm run admin -- ...` in this repository.
 *
 *   --local          the service started by `npm start` (reads .local-state/endpoints.json, or the
 *                    file in KMS_JWT_AUTH_STATE_DIR, and refuses when that service is gone)
 *   --table NAME     a deployed stack's table (AWS credentials and region from the environment)
 *
 * Passwords are read from standard input, never from arguments (they would show in `ps` and in
 * shell history).
 */
import { createInterface } from 'node:readline';
import { AuthError } from '../lambdas/core/errors.ts';
import { readLiveLocalEndpoints } from './local-state.ts';
import {
  createUser,
  deleteUser,
  disableUser,
  enableUser,
  listSessions,
  listPasskeys,
  listUsers,
  resetMfa,
  removePasskey,
  revokeAll,
  revokeSession,
  setPassword,
  setScopes,
} from './operations.ts';
import { createKeyOperatorDeps, createOperatorDeps } from './wiring.ts';
import { DEFAULT_RETIRE_WINDOW_SECONDS, listKeys, rotateKey } from './key-rotation.ts';
import { audit } from '../lambdas/http/audit.ts';
import { createLogger } from '../lambdas/http/handler.ts';

const USAGE = `Usage: kms-jwt-auth-admin [--local | --table NAME] <command>
       (in the kms-jwt-auth repository: npm run admin -- [--local | --table NAME] <command>)

Commands:
  create-user <username> [scope ...]      create a user; password from stdin
  disable-user <username>                 disable and end every session at once
  delete-user <username>                  end every session at once and erase the account
                                          (credentials, second factors, passkeys, sessions)
  enable-user <username>
  set-scopes <username> [scope ...] [--revoke-sessions]
  set-password <username>                 password from stdin; ends every session
  list-users                              every user: username, status, scopes, sub
  list-sessions <username>
  revoke-session <username> <sid>         end one session (its access tokens stop at once)
  revoke-all <username>                   end every session of the user
  reset-mfa <username>                    remove the user's TOTP factor and recovery codes
  list-passkeys <username>                the user's passkeys: id, name, created, last used
  remove-passkey <username> <id>          remove one passkey (signing in with it is refused)
  rotate-key [--current-key KEY] [--retire-after SECONDS]
                                          a new KMS key signs from now on; the keys it replaces
                                          keep verifying for SECONDS (default ${DEFAULT_RETIRE_WINDOW_SECONDS}:
                                          the longest token lifetime + skew; 0 for a compromised
                                          key), then leave the JWKS. --current-key (the key signing
                                          today) is needed by the first rotation only
  list-keys                               the signing key and the keys still verifying
  help`;


async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Password: ');
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  throw new Error('No password on standard input.');
}

async function configureTarget(args: string[]): Promise<string[]> {
  const rest = [...args];
  const localAt = rest.indexOf('--local');
  if (localAt >= 0) {
    rest.splice(localAt, 1);
    const endpoints = await readLiveLocalEndpoints(process.env);
    Object.assign(process.env, {
      TABLE_NAME: endpoints.tableName,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodbEndpoint,
      AWS_ENDPOINT_URL_KMS: endpoints.kmsEndpoint,
      AWS_REGION: endpoints.region,
      // The key the local service signs with until its first rotation (rotate-key's seed).
      SIGNING_KEY_ID: endpoints.signingKeyArn,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
  }
  const tableAt = rest.indexOf('--table');
  if (tableAt >= 0) {
    const name = rest[tableAt + 1];
    if (name === undefined) throw new Error('--table needs a table name.');
    rest.splice(tableAt, 2);
    process.env['TABLE_NAME'] = name;
  }
  if (!process.env['TABLE_NAME']) throw new Error('Say which service: --local, or --table NAME (or set TABLE_NAME).');
  return rest;
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes('help') || argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  const [command, ...args] = await configureTarget(argv);
  const deps = createOperatorDeps(process.env);
  const username = args[0];
  const need = (value: string | undefined, what: string): string => {
    if (value === undefined || value === '') throw new Error(`Missing ${what}.\n\n${USAGE}`);
    return value;
  };
  switch (command) {
    case 'create-user': {
      const sub = await createUser(deps, need(username, 'username'), await readPassword(), args.slice(1));
      console.log(`created ${username} (sub ${sub})`);
      return 0;
    }
    case 'disable-user':
      console.log(`disabled ${username}; ended ${await disableUser(deps, need(username, 'username'))} session(s)`);
      return 0;
    case 'delete-user': {
      const deletion = await deleteUser(deps, need(username, 'username'));
      console.log(`deleted ${username} (sub ${deletion.sub}); ended ${deletion.sessionsEnded} session(s)`);
      return 0;
    }
    case 'enable-user':
      await enableUser(deps, need(username, 'username'));
      console.log(`enabled ${username}`);
      return 0;
    case 'set-scopes': {
      const revoke = args.includes('--revoke-sessions');
      const scopes = args.slice(1).filter((arg) => arg !== '--revoke-sessions');
      const ended = await setScopes(deps, need(username, 'username'), scopes, revoke);
      console.log(`scopes of ${username}: ${scopes.join(' ') || '(none)'}${revoke ? `; ended ${ended} session(s)` : ''}`);
      return 0;
    }
    case 'set-password':
      console.log(`password changed; ended ${await setPassword(deps, need(username, 'username'), await readPassword())} session(s)`);
      return 0;
    case 'list-users': {
      const users = await listUsers(deps);
      for (const u of users) console.log(`${u.username}  ${u.status}  scopes="${u.scopes.join(' ')}"  sub=${u.sub}`);
      if (users.length === 0) console.log('no users');
      return 0;
    }
    case 'list-sessions': {
      const sessions = await listSessions(deps, need(username, 'username'));
      for (const s of sessions) {
        console.log(`${s.sid}  scope="${s.scope}"  since ${new Date(s.authTime * 1000).toISOString()}  refreshes=${s.generation}`);
      }
      if (sessions.length === 0) console.log('no active sessions');
      return 0;
    }
    case 'revoke-session': {
      const ok = await revokeSession(deps, need(username, 'username'), need(args[1], 'session id (sid)'));
      console.log(ok ? 'session revoked' : 'no such active session');
      return ok ? 0 : 1;
    }
    case 'reset-mfa': {
      const { sub, removed } = await resetMfa(deps, need(username, 'username'));
      // The audit line (lambdas/http/audit.ts), one JSON line as the account function writes it.
      if (removed) audit(createLogger('admin'), 'mfa_removed', { sub, factor: 'totp', by: 'operator' });
      console.log(removed ? `removed the TOTP factor of ${username}` : `${username} had no TOTP factor; nothing left to remove`);
      return 0;
    }
    case 'rotate-key': {
      const flag = (name: string): string | undefined => {
        const at = args.indexOf(name);
        return at >= 0 ? need(args[at + 1], `${name} value`) : undefined;
      };
      const retireAfter = flag('--retire-after');
      if (retireAfter !== undefined && !/^\d{1,7}$/.test(retireAfter)) throw new Error('--retire-after must be a whole number of seconds.');
      const outcome = await rotateKey(createKeyOperatorDeps(process.env), {
        currentKeyId: flag('--current-key') ?? process.env['SIGNING_KEY_ID'],
        retireWindowSeconds: retireAfter === undefined ? undefined : Number(retireAfter),
      });
      console.log(`signing now: kid ${outcome.signing.kid} (${outcome.signing.keyId})`);
      for (const key of outcome.retired) {
        console.log(`retired: kid ${key.kid} (${key.keyId}) verifies until ${new Date((key.verifyUntil ?? 0) * 1000).toISOString()}`);
      }
      return 0;
    }
    case 'list-keys': {
      const keys = await listKeys(createKeyOperatorDeps(process.env));
      if (keys === undefined) {
        console.log('no rotation yet: the functions use the keys they were deployed with (SIGNING_KEY_ID, VERIFY_KEY_IDS)');
        return 0;
      }
      for (const key of keys) {
        const until = key.verifyUntil === undefined ? '' : new Date(key.verifyUntil * 1000).toISOString();
        const status = key.status === 'verifying' ? `verifying until ${until}` : key.status === 'expired' ? `expired at ${until}` : key.status;
        console.log(`${status}  kid=${key.kid}  ${key.alg}  ${key.keyId}`);
      }
      return 0;
    }
    case 'revoke-all':
      console.log(`ended ${await revokeAll(deps, need(username, 'username'))} session(s)`);
      return 0;
    case 'list-passkeys': {
      const passkeys = await listPasskeys(deps, need(username, 'username'));
      const iso = (seconds: number | undefined): string => (seconds === undefined ? 'never' : new Date(seconds * 1000).toISOString());
      for (const p of passkeys) {
        console.log(`${p.credentialId}  name=${JSON.stringify(p.name)}  created ${iso(p.createdAt)}  last used ${iso(p.lastUsedAt)}  ${p.backedUp ? 'synced' : 'device-bound'}`);
      }
      if (passkeys.length === 0) console.log('no passkeys');
      return 0;
    }
    case 'remove-passkey': {
      const ok = await removePasskey(deps, need(username, 'username'), need(args[1], 'passkey id'));
      console.log(ok ? 'passkey removed' : 'no such passkey');
      return ok ? 0 : 1;
    }
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof AuthError ? error.description : error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
