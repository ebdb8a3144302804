/**
 * Where the client keeps the session. Asynchronous, so that the platform's secure storage (the iOS
 * Keychain, the Android Keystore through `expo-secure-store` or `react-native-keychain`) fits the
 * same interface: docs/clients.md shows those adapters. Values are tokens: an implementation must
 * never log them, and must not be `localStorage` (any script on the page could read them).
 */
export interface TokenStorage {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  remove(key: string): Promise<void>;
}

/** Keeps the tokens in memory only: gone when the process or page ends (tests, Node scripts, cookie mode). */
export function memoryStorage(): TokenStorage {
  const values = new Map<string, string>();
  return {
    get: async (key) => values.get(key),
    set: async (key, value) => {
      values.set(key, value);
    },
    remove: async (key) => {
      values.delete(key);
    },
  };
}
