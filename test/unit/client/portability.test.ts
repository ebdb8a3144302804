/**
 * The client library runs in browsers, React Native and Node >= 22: it imports nothing but its own
 * files, and it compiles against the DOM's types with Node's types absent (client/tsconfig.json),
 * so a Node-only module or global cannot slip in. The storage adapters the docs show keep the
 * TokenStorage contract.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { expoSecureStorage, keychainStorage } from '../../../examples/docs-snippets.ts';
import type { TokenStorage } from '../../../client/index.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('the client library’s portability', () => {
  it('imports only its own files (no runtime dependency, no node: module)', () => {
    const files = readdirSync(`${ROOT}client`).filter((name) => name.endsWith('.ts'));
    expect(files).toContain('index.ts');
    for (const file of files) {
      const source = readFileSync(`${ROOT}client/${file}`, 'utf8');
      const specifiers = [...source.matchAll(/(?:from|import)\s+'([^']+)'/g)].map((m) => m[1] ?? '');
      for (const specifier of specifiers) expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\/[a-z-]+\.ts$/);
    }
  });

  it('compiles with the DOM’s types and without Node’s', async () => {
    const tsc = `${ROOT}node_modules/typescript/bin/tsc`;
    await expect(promisify(execFile)(process.execPath, [tsc, '--noEmit', '-p', `${ROOT}client/tsconfig.json`])).resolves.toBeDefined();
  }, 60_000);
});

/** Exercises a TokenStorage: absent → set → read back → removed. */
async function roundTrip(storage: TokenStorage): Promise<void> {
  expect(await storage.get('kms-jwt-auth.refresh_token')).toBeUndefined();
  await storage.set('kms-jwt-auth.refresh_token', 'r1');
  await storage.set('kms-jwt-auth.device_token', 'd1');
  expect(await storage.get('kms-jwt-auth.refresh_token')).toBe('r1');
  await storage.remove('kms-jwt-auth.refresh_token');
  expect(await storage.get('kms-jwt-auth.refresh_token')).toBeUndefined();
  expect(await storage.get('kms-jwt-auth.device_token')).toBe('d1');
}

describe('the secure-storage adapters of docs/clients.md', () => {
  it('expo-secure-store: keeps each key under its own name with the accessibility class given', async () => {
    const items = new Map<string, string>();
    const classes = new Set<unknown>();
    const fake = {
      getItemAsync: async (key: string, options?: { keychainAccessible?: number }) => (classes.add(options?.keychainAccessible), items.get(key) ?? null),
      setItemAsync: async (key: string, value: string, options?: { keychainAccessible?: number }) => void (classes.add(options?.keychainAccessible), items.set(key, value)),
      deleteItemAsync: async (key: string) => void items.delete(key),
    };
    await roundTrip(expoSecureStorage(fake, 7));
    expect([...classes]).toEqual([7]);
  });

  it('react-native-keychain: one Keychain service per key, the accessibility class on every write', async () => {
    const services = new Map<string, { password: string; accessible: string }>();
    const fake = {
      getGenericPassword: async ({ service }: { service: string }) => services.get(service) ?? false,
      setGenericPassword: async (_: string, password: string, { service, accessible }: { service: string; accessible: string }) => void services.set(service, { password, accessible }),
      resetGenericPassword: async ({ service }: { service: string }) => services.delete(service),
    };
    await roundTrip(keychainStorage(fake, 'AccessibleWhenUnlockedThisDeviceOnly'));
    expect([...services.values()].map((s) => s.accessible)).toEqual(['AccessibleWhenUnlockedThisDeviceOnly']);
  });
});
