/**
 * Markup to a cheerio document, bounded in depth so a hostile page cannot stall a worker.
 *
 * The parser is htmlparser2 (also what Crawlee's CheerioCrawler uses), not cheerio's default
 * parse5: on a 100,000-level deep page parse5 did not finish in 120 s. htmlparser2 builds no
 * implied `<tbody>`/`<html>` elements, like Scrapy's lxml. Its open-element stack still costs time
 * quadratic in depth and cheerio's traversals recurse once per level, so two bounds apply:
 * - elements deeper than {@link MAX_TREE_DEPTH} are added as siblings at that depth, as browsers do
 *   (Blink caps its tree at 512), so text and links inside stay reachable;
 * - once {@link MAX_OPEN_ELEMENTS} elements are open at once the rest of the document is dropped
 *   and `truncatedAt` says where; everything before it (title, links) is kept.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { CheerioAPI } from 'cheerio';
import type * as DomHandlerModule from 'domhandler';
import type * as Htmlparser2 from 'htmlparser2';

/** Depth at which further elements are added as siblings instead of children. */
export const MAX_TREE_DEPTH = 512;
/** Open elements at which the rest of a document is dropped. */
export const MAX_OPEN_ELEMENTS = 4096;
/** Input is fed in slices so an overflow is noticed within one slice. */
const SLICE_CHARS = 16 * 1024;

export interface LoadedMarkup {
  $: CheerioAPI;
  /** Character offset after which the document was dropped, when it nested too deep. */
  truncatedAt?: number;
  /**
   * Empties the document and hands its `$` to the next page: `$` and anything selected with it
   * must not be used afterwards. Optional: an unreleased document is simply garbage collected.
   */
  release: () => void;
}

// Loaded with require on first use: `page.$` is a synchronous getter, and a worker that only
// runs JSON callbacks should never load cheerio at all.
const require = createRequire(import.meta.url);
let modules:
  | {
      load: CheerioAPI['load'];
      Parser: typeof Htmlparser2.Parser;
      Handler: BoundedHandlerClass;
      Element: typeof DomHandlerModule.Element;
      Document: typeof DomHandlerModule.Document;
    }
  | undefined;

interface BoundedHandler extends Htmlparser2.DomHandler {
  overflow: boolean;
}
type BoundedHandlerClass = new (callback: null, options: { xmlMode: boolean }) => BoundedHandler;

/** The three packages, all from their ES module builds or all from their CommonJS builds. */
function requireParsers(): [typeof Htmlparser2, { load: CheerioAPI['load'] }, typeof DomHandlerModule] {
  const names = ['htmlparser2', 'cheerio/slim', 'domhandler'];
  // The CommonJS builds of cheerio, css-select and domutils reach each other's functions through
  // re-export getters, which cost a selector-heavy callback 15-25% of its CPU; Node 20.19+ can
  // require the ES module builds instead.
  if ((process.features as { require_module?: boolean }).require_module) {
    try {
      return names.map((name) => require(fileURLToPath(import.meta.resolve(name)))) as never;
    } catch {
      // Fall back to the CommonJS builds below.
    }
  }
  return names.map((name) => require(name)) as never;
}

function loadModules(): NonNullable<typeof modules> {
  if (modules) return modules;
  const [{ DomHandler, Parser }, { load }, { Element, Document }] = requireParsers();

  class Handler extends DomHandler implements BoundedHandler {
    overflow = false;
    /** Elements open beyond the depth cap; they were added without being pushed. */
    private excess = 0;

    override onopentag(name: string, attribs: Record<string, string>): void {
      super.onopentag(name, attribs);
      // tagStack holds the root too, so its length is depth + 1.
      if (this.tagStack.length > MAX_TREE_DEPTH + 1) {
        this.tagStack.pop();
        this.excess++;
        if (this.excess + MAX_TREE_DEPTH >= MAX_OPEN_ELEMENTS) this.overflow = true;
      }
    }

    override onclosetag(): void {
      // htmlparser2 closes elements in reverse order of opening, so the excess closes first.
      if (this.excess > 0) {
        this.excess--;
        this.lastNode = null;
        return;
      }
      super.onclosetag();
    }
  }
  const loaded = { load, Parser, Handler, Element, Document };
  modules = loaded;
  return loaded;
}

/** Whether a content type is XML rather than HTML (XHTML is parsed as HTML, leniently). */
export function isXmlType(contentType: string): boolean {
  return /[/+]xml\b/i.test(contentType) && !/xhtml/i.test(contentType);
}

/**
 * A cheerio `$` loaded once and reused, page after page, with each page's nodes moved under its
 * root. cheerio's `load()` makes a class per document; the hidden maps of those classes live in
 * the old generation and keep each class, its closures and its root alive until a full GC: ~1.5 KB
 * a page (the whole tree, 15 KB on a small page, until the document was emptied) copied by every
 * scavenge and then promoted. One `$` per thread also keeps cheerio's inline caches on one shape.
 */
interface ReusableDocument {
  $: CheerioAPI;
  root: DomHandlerModule.Document;
}

/** Documents not in use, per mode; a worker parses one page at a time, so it needs one of each. */
const idle = { html: [] as ReusableDocument[], xml: [] as ReusableDocument[] };
/** Beyond this many idle documents (main-thread parsing of many pages at once) extras are dropped. */
const MAX_IDLE_DOCUMENTS = 16;

/** Parses markup into a cheerio document; see the module comment for the bounds. */
export function loadMarkup(text: string, xml = false): LoadedMarkup {
  const { load, Parser, Handler, Element, Document } = loadModules();
  const handler = new Handler(null, { xmlMode: xml });
  const parser = new Parser(handler, { xmlMode: xml, decodeEntities: true });
  let truncatedAt: number | undefined;
  for (let at = 0; at < text.length; at += SLICE_CHARS) {
    parser.write(text.slice(at, at + SLICE_CHARS));
    if (handler.overflow) {
      truncatedAt = Math.min(text.length, at + SLICE_CHARS);
      break;
    }
  }
  parser.end();
  if (!xml) underOneHtmlElement(handler.root, Element);

  const pool = xml ? idle.xml : idle.html;
  let document = pool.pop();
  if (!document) {
    const root = new Document([]);
    document = { root, $: load(root, xml ? { xml: { xmlMode: true } } : null) };
  }
  const { root } = document;
  root.children = handler.root.children;
  for (const node of root.children) node.parent = root;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    root.children = [];
    if (pool.length < MAX_IDLE_DOCUMENTS) pool.push(document);
  };
  return truncatedAt === undefined ? { $: document.$, release } : { $: document.$, truncatedAt, release };
}

/**
 * Puts every top-level node but the doctype under one `<html>` element, as browsers (and cheerio's
 * default parser) do: nodes before it go first, nodes after `</html>` go last, a document without
 * one gets one. Besides matching what selectors expect, this keeps queries linear: cheerio
 * de-duplicates the document's top-level nodes on every `$(selector)`, quadratically, so a page
 * of 50,000 top-level links took 2 s a query (4.6 s for `page.links()`) before this.
 */
function underOneHtmlElement(
  root: DomHandlerModule.Document,
  Element: typeof DomHandlerModule.Element,
): void {
  const existing = root.children.find(
    (node): node is DomHandlerModule.Element => node.type === 'tag' && node.name === 'html',
  );
  const directives: DomHandlerModule.ChildNode[] = [];
  const before: DomHandlerModule.ChildNode[] = [];
  const after: DomHandlerModule.ChildNode[] = [];
  let pastHtml = false;
  for (const node of root.children) {
    if (node === existing) pastHtml = true;
    else if (node.type === 'directive') directives.push(node);
    else (pastHtml ? after : before).push(node);
  }
  if (before.length === 0 && after.length === 0) return;
  const html = existing ?? new Element('html', {});
  adopt(html, [...before, ...html.children, ...after]);
  adopt(root, [...directives, html]);
}

/** Makes `children` the child list of `parent`, with parent and sibling links to match. */
function adopt(parent: DomHandlerModule.ParentNode, children: DomHandlerModule.ChildNode[]): void {
  children.forEach((node, i) => {
    node.parent = parent;
    node.prev = children[i - 1] ?? null;
    node.next = children[i + 1] ?? null;
  });
  parent.children = children;
}
