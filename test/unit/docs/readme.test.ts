import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/errors.js';

const readme = readFileSync('README.md', 'utf8');
const pages = [
  'README.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

function anchorsOf(text: string): Set<string> {
  const outsideCode = text.replace(/```[\s\S]*?```/g, '');
  return new Set([...outsideCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
}

/** Debian packages an `apt-get install` line names (options dropped). */
const packagesOf = (line: string): string[] =>
  line
    .split(/\s+/)
    .filter((w) => w && !w.startsWith('-') && !['apt-get', 'install', '\\'].includes(w))
    .sort();

describe('the README and docs/', () => {
  it('the README is short, starts with the two commands and has a table of contents', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(400);
    const commands = /^```sh\n(.+)\n(.+)\n```/m.exec(readme);
    expect(commands?.[1]).toMatch(/npm ci && npm start/);
    expect(commands?.[2]).toMatch(/npm ci && npm test/);
    expect(readme).toMatch(/^## Contents$/m);
  });

  it("the README's test command installs exactly what .ci/run installs", () => {
    const ci = readFileSync('.ci/run', 'utf8').replace(/\\\n\s*/g, ' ');
    const ciInstall = /apt-get install (.+)/.exec(ci)![1]!;
    const readmeInstall = /apt-get install -y (.+?) && npm ci && npm test/.exec(readme)![1]!;
    expect(packagesOf(readmeInstall)).toEqual(packagesOf(ciInstall));
  });

  it('every relative link points to a file that exists, and to a heading it has', () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(page, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [path, anchor] = target!.split('#') as [string, string | undefined];
        const file = path ? join(dirname(page), path) : page;
        if (!existsSync(file)) broken.push(`${page}: ${target} (no file)`);
        else if (
          anchor &&
          file.endsWith('.md') &&
          !anchorsOf(readFileSync(file, 'utf8')).has(anchor)
        )
          broken.push(`${page}: ${target} (no heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the refusal code table lists every code with its status', () => {
    const table = readFileSync('docs/tokens-and-security.md', 'utf8');
    const missing = Object.entries(ERROR_CODES)
      .filter(([code, { status }]) => {
        const row = new RegExp(`^\\| [^|]*\`${code}\`[^|]*\\| (\\d+|—) \\|`, 'm').exec(table);
        return !row || (row[1] !== '—' && Number(row[1]) !== status);
      })
      .map(([code]) => code);
    expect(missing).toEqual([]);
  });
});
