/**
 * The docs and the code comments speak to the people who use and maintain this repository: they
 * cite documents those readers can open (RFCs, AWS docs, files of this repository), never a
 * specification, an issue or a corpus that lives elsewhere, and every repository path they name
 * exists.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE_DIRS = ['lib', 'lambdas', 'local', 'cli', 'bench', 'bin', 'examples', 'scripts', 'test', 'docs'];
const TOP_LEVEL = ['README.md', 'SECURITY.md'];

function filesUnder(dir: string): string[] {
  return readdirSync(`${ROOT}${dir}`).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(`${ROOT}${path}`).isDirectory()) return filesUnder(path);
    return /\.(ts|md|py)$/.test(name) ? [path] : [];
  });
}

// test/vectors holds third-party vector files and their provenance, quoted as published.
const FILES = [...TOP_LEVEL, ...SOURCE_DIRS.flatMap(filesUnder)].filter((path) => !path.startsWith('test/vectors/'));
const THIS_FILE = 'test/infra/docs-references.test.ts';

/** Wording that points the reader at something they do not have. */
const UNREACHABLE = [
  { what: 'a specification file the repository does not have', pattern: /\bSPEC\.md\b/ },
  { what: 'a style guide the repository does not have', pattern: /\bSTYLE\.md\b/ },
  { what: '"the issue" (docs speak to users)', pattern: /\bthe issue\b|\bissue's\b|\bissue \d/i },
  { what: 'an attack corpus outside the repository', pattern: /jwt-attacks|shared\/corpora/ },
];

/** `{a,b}` alternatives in a path, expanded. */
function expandBraces(path: string): string[] {
  const match = /\{([^{}]*)\}/.exec(path);
  if (match === null) return [path];
  return (match[1] ?? '').split(',').flatMap((part) => expandBraces(path.replace(match[0], part)));
}

/** Repository paths named in a text: `dir/…/file.ext` under one of the top-level folders. */
function repositoryPaths(text: string): string[] {
  const found = text.match(/(?<![\w./-])(?:lib|lambdas|local|cli|bench|bin|examples|scripts|test|docs)\/[\w./{},-]*\.(?:ts|md|py|json)\b/g) ?? [];
  return found.flatMap(expandBraces);
}

describe('docs and comments', () => {
  it('read files at all (the checks below are not vacuous)', () => {
    expect(FILES).toContain('README.md');
    expect(FILES).toContain('docs/deploy.md');
    expect(FILES.filter((f) => f.startsWith('lambdas/')).length).toBeGreaterThan(10);
    expect(repositoryPaths('see `lambdas/authorizer/{authorizer,handler}.ts` and lib/bundling.ts.')).toEqual([
      'lambdas/authorizer/authorizer.ts',
      'lambdas/authorizer/handler.ts',
      'lib/bundling.ts',
    ]);
  });

  it.each(UNREACHABLE)('never cite $what', ({ pattern }) => {
    const offending = FILES.filter((file) => file !== THIS_FILE).flatMap((file) =>
      readFileSync(`${ROOT}${file}`, 'utf8')
        .split('\n')
        .flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(offending).toEqual([]);
  });

  it('name only repository paths that exist', () => {
    const missing = FILES.flatMap((file) =>
      repositoryPaths(readFileSync(`${ROOT}${file}`, 'utf8'))
        .filter((path) => !path.includes('<') && !existsSync(`${ROOT}${path}`))
        .map((path) => `${file}: ${path}`),
    );
    expect([...new Set(missing)]).toEqual([]);
  });
});
