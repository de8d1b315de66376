// Rewrites the README's configuration table from the zod schema: `npm run docs:config`.
import { readFileSync, writeFileSync } from 'node:fs';
import { configTable } from '../src/config/env.js';

const start = '<!-- config-table:start -->\n';
const end = '\n\n<!-- config-table:end -->';
const readme = readFileSync('README.md', 'utf8');
const [head, rest] = readme.split(start);
const tail = rest?.split(end)[1];
if (head === undefined || tail === undefined) throw new Error('README.md lacks the config-table markers');
writeFileSync('README.md', `${head}${start}${configTable()}${end}${tail}`);
