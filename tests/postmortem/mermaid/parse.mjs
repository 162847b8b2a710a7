// Parse Mermaid source from stdin with Mermaid's own parser; print {"ok", "type"|"error"}.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");

let source = "";
for await (const chunk of process.stdin) source += chunk;
try {
  const result = await mermaid.parse(source);
  console.log(JSON.stringify({ ok: true, type: result.diagramType }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error.message || error) }));
  process.exitCode = 1;
}
