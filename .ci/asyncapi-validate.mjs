// Validates an AsyncAPI document with @asyncapi/parser, offline: prints every
// diagnostic and exits 1 when any is an error (or the document does not parse).
// The parser does not check messages' examples against their schemas; this
// script does, with Ajv (JSON Schema draft-07, formats included).
//
//   node .ci/asyncapi-validate.mjs [docs/asyncapi.yaml]
//
// The parser is looked up in CONTRACT_TOOLS (default target/contract-tools),
// where .ci/check-contract installs it with npm.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const file = path.resolve(process.argv[2] ?? 'docs/asyncapi.yaml');
const tools = path.resolve(process.env.CONTRACT_TOOLS ?? 'target/contract-tools');
const require = createRequire(path.join(tools, 'package.json'));

let parserModule;
try {
  parserModule = require('@asyncapi/parser');
} catch (error) {
  console.error(`@asyncapi/parser is not installed in ${tools}: run .ci/check-contract (${error.message})`);
  process.exit(1);
}
const { Parser, DiagnosticSeverity } = parserModule;
const Ajv = require('ajv').default;
const addFormats = require('ajv-formats').default;

const severityName = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

const source = await readFile(file, 'utf8');
const parser = new Parser();
const { document, diagnostics } = await parser.parse(source, { source: file });

for (const d of diagnostics) {
  const where = d.path && d.path.length ? d.path.join('.') : '(document)';
  const line = d.range ? `:${d.range.start.line + 1}` : '';
  console.log(`${severityName[d.severity] ?? d.severity} ${d.code} ${path.relative(process.cwd(), file)}${line} ${where}: ${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
if (!document || errors.length > 0) {
  console.error(`${path.relative(process.cwd(), file)}: ${errors.length} error(s); the AsyncAPI document is not valid`);
  process.exit(1);
}

// Every example of every message against the message's payload and headers.
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
let examples = 0;
let badExamples = 0;
const check = (what, schema, value) => {
  const validate = ajv.compile(schema);
  if (!validate(value)) {
    badExamples += 1;
    for (const e of validate.errors) {
      console.log(`error example ${what}${e.instancePath}: ${e.message} ${JSON.stringify(e.params)}`);
    }
  }
};
for (const message of document.components().messages()) {
  message.examples().all().forEach((example, index) => {
    const what = `components.messages.${message.id()}.examples[${index}]`;
    examples += 1;
    if (example.hasPayload()) {
      if (!message.hasPayload()) {
        badExamples += 1;
        console.log(`error example ${what}: a payload, but the message has no payload schema`);
      } else {
        check(`${what}.payload`, message.payload().json(), example.payload());
      }
    }
    if (example.hasHeaders()) {
      if (!message.hasHeaders()) {
        badExamples += 1;
        console.log(`error example ${what}: headers, but the message has no headers schema`);
      } else {
        check(`${what}.headers`, message.headers().json(), example.headers());
      }
    }
  });
}
if (badExamples > 0) {
  console.error(`${path.relative(process.cwd(), file)}: ${badExamples} example(s) do not match their message's schemas`);
  process.exit(1);
}
const warnings = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Warning).length;
console.log(
  `${path.relative(process.cwd(), file)}: valid AsyncAPI ${document.version()}: ` +
    `${document.channels().length} channels, ${document.operations().length} operations, ` +
    `${document.components().messages().length} messages, ${examples} examples checked` +
    (warnings ? `, ${warnings} warning(s)` : ''),
);
