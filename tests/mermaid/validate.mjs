#!/usr/bin/env node
// Validate Mermaid text with Mermaid's own parser (mermaid.parse), no browser.
//
// Usage:  node validate.mjs [--labels] [FILE ...]   (no FILE: read stdin)
//         node validate.mjs --batch < diagrams.json
// Prints "ok" and exits 0 when every input parses; otherwise prints the
// parser's error (to stderr) and exits 1. Exit 2 = usage / I/O problem.
// --labels: on success print, instead of "ok", one JSON object per input
// mapping each node id to its label as Mermaid stored it (after its entity
// handling and DOMPurify), with Mermaid's #...; placeholders turned back into
// HTML entities the way its renderer does. Lets a test check that a label
// survived intact (Mermaid accepts some malformed labels but mangles them).
// --batch: stdin is a JSON array of diagram texts; prints one JSON array with,
// for each, {"ok": true, "labels": {...}} or {"ok": false, "error": "..."}, and
// exits 0 (one Node start-up for a whole test run instead of one per diagram).
//
// Mermaid's flowchart DB sanitizes every label with DOMPurify, and DOMPurify
// needs a DOM `window` at the moment it is first imported. Node has none, so a
// jsdom window is installed as a global BEFORE mermaid is imported (hence the
// dynamic import below). Without it mermaid.parse fails with
// "DOMPurify.addHook is not a function" even for valid input.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;

const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

const args = process.argv.slice(2);
const batch = args[0] === '--batch';
const wantLabels = args[0] === '--labels';
const files = wantLabels ? args.slice(1) : args;

// Mirror of mermaid's decodeEntities (src/mermaidAPI.ts) used before rendering.
const decodeEntities = (t) =>
  t.replace(/ﬂ°°/g, '&#').replace(/ﬂ°/g, '&').replace(/¶ß/g, ';');

const readInputs = () => {
  if (files.length === 0) return [['<stdin>', readFileSync(0, 'utf8')]];
  return files.map((f) => [f, readFileSync(f, 'utf8')]);
};

// Parse one text: its labels, or throw Mermaid's error.
const check = async (text) => {
  // Throws on a syntax error (suppressErrors defaults to false). Also
  // enforces the flowchart maxEdges limit (default 500).
  await mermaid.parse(text);
  // mermaid.render (not parse) replaces text longer than maxTextSize
  // (default 50000 chars) with a "Maximum text size in diagram exceeded"
  // diagram; treat that as a rejection too.
  const maxTextSize = mermaid.mermaidAPI.getConfig().maxTextSize ?? 50000;
  if (text.length > maxTextSize) {
    throw new Error(`Text is ${text.length} chars; mermaid renders nothing above maxTextSize=${maxTextSize}`);
  }
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
  const labels = {};
  const vertices = diagram.db.getVertices?.() ?? new Map();
  for (const [id, v] of vertices) labels[id] = decodeEntities(v.text ?? '');
  return labels;
};
const message = (err) => (err && (err.message || err.str)) || String(err);

if (batch) {
  let texts;
  try {
    texts = JSON.parse(readFileSync(0, 'utf8'));
  } catch (err) {
    console.error(`validate.mjs: ${err.message}`);
    process.exit(2);
  }
  const results = [];
  for (const text of texts) {
    try {
      results.push({ ok: true, labels: await check(text) });
    } catch (err) {
      results.push({ ok: false, error: message(err) });
    }
  }
  console.log(JSON.stringify(results));
  dom.window.close();
  process.exit(0);
}

let inputs;
try {
  inputs = readInputs();
} catch (err) {
  console.error(`validate.mjs: ${err.message}`);
  process.exit(2);
}

let failed = 0;
for (const [name, text] of inputs) {
  const prefix = inputs.length > 1 ? `${name}: ` : '';
  try {
    const labels = await check(text);
    console.log(`${prefix}${wantLabels ? JSON.stringify(labels) : 'ok'}`);
  } catch (err) {
    failed += 1;
    console.error(`${prefix}${message(err)}`);
  }
}
dom.window.close();
process.exit(failed ? 1 : 0);
