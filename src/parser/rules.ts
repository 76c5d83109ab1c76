/**
 * Link rules (Scrapy's CrawlSpider rules, Crawlee's enqueueLinks): compiled once per spider in each
 * worker, applied to a page after its callback, and returned as plain request data.
 */
import type { LinkRule, Pattern } from '../spider.js';
import type { RequestInit } from '../types.js';

type UrlTest = (url: URL) => boolean;

interface CompiledRule {
  allow: UrlTest[];
  deny: UrlTest[];
  selector: string | undefined;
  callback: string;
  userData: Record<string, unknown> | undefined;
  priority: number | undefined;
}

export interface CompiledRules {
  rules: CompiledRule[];
  /** Callbacks whose pages get the rules applied: `parse` and those of rules that follow. */
  followFrom: Set<string>;
}

/** The links a rule set looks at; the Page provides them. */
export interface LinkSourcePage {
  links(selector?: string): string[];
}

export function compileRules(rules: readonly LinkRule[]): CompiledRules {
  const followFrom = new Set(['parse']);
  const compiled = rules.map((rule): CompiledRule => {
    const callback = rule.callback ?? 'parse';
    if (rule.follow ?? rule.callback === undefined) followFrom.add(callback);
    return {
      allow: toList(rule.allow).map(compilePattern),
      deny: toList(rule.deny).map(compilePattern),
      selector: rule.selector,
      callback,
      userData: rule.userData,
      priority: rule.priority,
    };
  });
  return { rules: compiled, followFrom };
}

/**
 * Requests for the page's links that some rule takes; each link goes to the first rule matching
 * it, as in Scrapy. Links are already absolute http(s) URLs without fragments.
 */
export function applyRules(page: LinkSourcePage, compiled: CompiledRules): RequestInit[] {
  const taken = new Set<string>();
  const requests: RequestInit[] = [];
  for (const rule of compiled.rules) {
    for (const href of page.links(rule.selector)) {
      if (taken.has(href)) continue;
      const url = new URL(href);
      if (rule.allow.length > 0 && !rule.allow.some((test) => test(url))) continue;
      if (rule.deny.some((test) => test(url))) continue;
      taken.add(href);
      requests.push({
        url: href,
        callback: rule.callback,
        ...(rule.userData ? { userData: structuredClone(rule.userData) } : {}),
        ...(rule.priority !== undefined ? { priority: rule.priority } : {}),
      });
    }
  }
  return requests;
}

/** Turns a glob or RegExp into a URL test; see LinkRule for the glob semantics. */
export function compilePattern(pattern: Pattern): UrlTest {
  if (pattern instanceof RegExp) {
    // Without g/y, test() keeps no lastIndex between links.
    const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    return (url) => re.test(url.href);
  }
  const re = globToRegExp(pattern);
  if (!pattern.startsWith('/')) return (url) => re.test(url.href);
  if (pattern.includes('?')) return (url) => re.test(url.pathname + url.search);
  return (url) => re.test(url.pathname);
}

/** `*` = any run without `/`, `**` = any run, `{a,b}` = alternatives, all else literal; anchored. */
function globToRegExp(glob: string): RegExp {
  let source = '';
  let inBraces = false;
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*') {
      if (glob[i + 1] === '*') {
        source += '.*';
        while (glob[i + 1] === '*') i++;
      } else {
        source += '[^/]*';
      }
    } else if (char === '{' && !inBraces && glob.indexOf('}', i) > i) {
      inBraces = true;
      source += '(?:';
    } else if (char === '}' && inBraces) {
      inBraces = false;
      source += ')';
    } else if (char === ',' && inBraces) {
      source += '|';
    } else {
      source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

function toList(patterns: Pattern | Pattern[] | undefined): Pattern[] {
  if (patterns === undefined) return [];
  return Array.isArray(patterns) ? patterns : [patterns];
}
