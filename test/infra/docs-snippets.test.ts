/**
 * The TypeScript in the docs is real code: every ```ts block of README.md, SECURITY.md and
 * docs/*.md is a region of examples/docs-snippets.ts (which `tsc` compiles with the rest of the
 * repository), and that app synthesizes here. A snippet edited in the docs alone, or one that
 * does not work where the docs say it does, fails this file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildDocsSnippetsApp } from '../../examples/docs-snippets.ts';
import { SYNTH_TIMEOUT_MS, testApp } from './support.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SNIPPETS_FILE = 'examples/docs-snippets.ts';

/** Removes the indentation common to every non-blank line, and surrounding blank lines. */
function dedent(lines: readonly string[]): string {
  const indents = lines.filter((line) => line.trim() !== '').map((line) => /^ */.exec(line)?.[0].length ?? 0);
  const common = indents.length === 0 ? 0 : Math.min(...indents);
  return lines.map((line) => line.slice(common).trimEnd()).join('\n').trim();
}

/** The ```ts / ```typescript blocks of a Markdown file (fences may be indented, in lists). */
function typescriptBlocks(markdown: string): { line: number; code: string }[] {
  const blocks: { line: number; code: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^(\s*)(`{3,})(ts|typescript)\s*$/.exec(lines[i] ?? '');
    if (open === null) continue;
    const fence = `${open[1] ?? ''}${open[2] ?? ''}`;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && lines[j]?.trimEnd() !== fence) body.push(lines[j++] ?? '');
    if (j === lines.length) throw new Error(`unclosed code block at line ${i + 1}`);
    blocks.push({ line: i + 1, code: dedent(body) });
    i = j;
  }
  return blocks;
}

/** The `// #region <name>` … `// #endregion` parts of a source file, dedented, by name. */
function regions(source: string): Map<string, string> {
  const found = new Map<string, string>();
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^\s*\/\/ #region (\S+)\s*$/.exec(lines[i] ?? '');
    if (open?.[1] === undefined) continue;
    const end = lines.findIndex((line, k) => k > i && /^\s*\/\/ #endregion\s*$/.test(line));
    if (end === -1) throw new Error(`region ${open[1]} is not closed`);
    found.set(open[1], dedent(lines.slice(i + 1, end)));
    i = end;
  }
  return found;
}

const markdownFiles = [
  'README.md',
  'SECURITY.md',
  ...readdirSync(`${ROOT}docs`)
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
const snippets = regions(readFileSync(`${ROOT}${SNIPPETS_FILE}`, 'utf8'));

describe('the TypeScript blocks of the docs', () => {
  it.each(markdownFiles)('%s: every ```ts block is a region of examples/docs-snippets.ts, verbatim', (file) => {
    const blocks = typescriptBlocks(readFileSync(`${ROOT}${file}`, 'utf8'));
    const known = new Set(snippets.values());
    for (const block of blocks) {
      expect(known.has(block.code), `${file}:${block.line} is not in ${SNIPPETS_FILE}:\n${block.code}`).toBe(true);
    }
  });

  it('every region of examples/docs-snippets.ts is shown in the docs', () => {
    const shown = new Set(markdownFiles.flatMap((file) => typescriptBlocks(readFileSync(`${ROOT}${file}`, 'utf8')).map((b) => b.code)));
    const unused = [...snippets].filter(([, code]) => !shown.has(code)).map(([name]) => name);
    expect(unused).toEqual([]);
  });

  it('finds the blocks it checks (the checks above are not vacuous)', () => {
    expect(snippets.size).toBeGreaterThanOrEqual(4);
    const text = 'a\n  ```ts\n  const x = 1;\n    x;\n  ```\n```sh\nls\n```\n';
    expect(typescriptBlocks(text)).toEqual([{ line: 2, code: 'const x = 1;\n  x;' }]);
  });
});

describe('the snippets synthesize', () => {
  it(
    'the construct, and both kinds of authorizer attached to APIs in another stack under the ids the docs use',
    () => {
      const app = testApp();
      const { service, apis, imported, packaged } = buildDocsSnippetsApp(app);
      const assembly = app.synth();
      expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(['Auth', 'DocsAuthService', 'DocsImportedAuth', 'DocsOrdersApis']);
      // The ready-made stack carries the outputs the deploy guide tells operators to read.
      const outputs = Object.keys(Template.fromStack(packaged).toJSON()['Outputs'] ?? {});
      expect(outputs).toEqual(expect.arrayContaining(['TableName', 'AuthorizerFunctionArn', 'Issuer', 'JwksUrl', 'ApiUrl']));

      const apisTemplate = Template.fromStack(apis);
      apisTemplate.resourceCountIs('AWS::ApiGateway::Authorizer', 2);
      apisTemplate.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
      // One invoke permission per API (not per authorizer), each in the API's stack.
      apisTemplate.resourceCountIs('AWS::Lambda::Permission', 2);
      Template.fromStack(service).hasResourceProperties('AWS::ApiGatewayV2::DomainName', { DomainName: 'auth.example.com' });
      Template.fromStack(imported).resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    },
    SYNTH_TIMEOUT_MS,
  );
});
