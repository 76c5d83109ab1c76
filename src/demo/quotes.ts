/**
 * The demo's quotes site, shaped like quotes.toscrape.com: a login form with a CSRF token tied to
 * a session cookie, then an infinite-scroll page fed by a paginated JSON API that answers only a
 * logged-in session.
 */
import { createHash } from 'node:crypto';
import { type Answer, type DemoRequest, escapeHtml, json } from './answer.js';

export interface DemoQuote {
  text: string;
  author: string;
  tags: string[];
}

const AUTHORS = [
  'Ada Lovelace',
  'Alan Turing',
  'Grace Hopper',
  'Edsger Dijkstra',
  'Barbara Liskov',
  'Donald Knuth',
  'Margaret Hamilton',
];
const TAGS = ['code', 'life', 'truth', 'humor', 'science', 'change', 'books', 'time'];
const VERBS = ['measure', 'simplify', 'question', 'read', 'test', 'explain', 'share'];
const THINGS = ['the obvious', 'every assumption', 'the small things', 'your own code', 'the old books'];
const QUOTES_PER_PAGE = 10;

export function demoQuotes(count = 50): DemoQuote[] {
  return Array.from({ length: count }, (_, i) => ({
    text: `“${i + 1}. Always ${VERBS[i % VERBS.length]} ${THINGS[(i * 3) % THINGS.length]}.”`,
    author: AUTHORS[(i * 5) % AUTHORS.length]!,
    tags: [TAGS[i % TAGS.length]!, TAGS[(i + 3) % TAGS.length]!],
  }));
}

/** What the quotes site remembers: the sessions it issued and which of them logged in. */
export interface QuotesState {
  quotes: DemoQuote[];
  sessions: number;
  loggedIn: Set<string>;
}

const csrfToken = (session: string) =>
  createHash('sha256').update(`demo:${session}`).digest('hex').slice(0, 24);

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} | Quotes</title></head><body><div class="container"><h1><a href="/quotes/">Quotes to Trawl</a></h1>${body}</div></body></html>`;

export function loginForm(state: QuotesState, req: DemoRequest): Answer {
  const session = req.cookies.session ?? `s${++state.sessions}`;
  return {
    status: 200,
    body: page(
      'Login',
      `<form action="/quotes/login" method="post">
<input type="hidden" name="csrf_token" value="${csrfToken(session)}">
<label>Username <input type="text" name="username"></label>
<label>Password <input type="password" name="password"></label>
<input type="submit" value="Login" class="btn btn-primary"></form>`,
    ),
    ...(req.cookies.session ? {} : { cookies: [`session=${session}; Path=/; HttpOnly`] }),
  };
}

export function login(state: QuotesState, req: DemoRequest): Answer {
  const session = req.cookies.session;
  if (!session || req.form.get('csrf_token') !== csrfToken(session))
    return { status: 403, body: page('Error', '<p class="error">Invalid CSRF token</p>') };
  if (!req.form.get('username') || !req.form.get('password'))
    return { status: 200, body: page('Login', '<p class="error">Enter a username and a password</p>') };
  state.loggedIn.add(session);
  return { status: 302, location: '/quotes/' };
}

export function quotesHome(state: QuotesState, req: DemoRequest): Answer {
  const user = state.loggedIn.has(req.cookies.session ?? '');
  const nav = user
    ? '<p class="user">Logged in. <a href="/quotes/logout">Logout</a> · <a href="/quotes/scroll">Scroll</a></p>'
    : '<p><a href="/quotes/login">Login</a></p>';
  const first = state.quotes.slice(0, QUOTES_PER_PAGE).map(
    (q) => `<div class="quote"><span class="text">${escapeHtml(q.text)}</span>
<small class="author">${escapeHtml(q.author)}</small></div>`,
  );
  return { status: 200, body: page('Home', nav + first.join('\n')) };
}

export function scrollPage(): Answer {
  // As on quotes.toscrape.com/scroll, the quotes come from the JSON API as the reader scrolls.
  return {
    status: 200,
    body: page(
      'Scroll',
      `<div class="quotes"></div><script>let page = 1; async function more() { const r = await fetch('/quotes/api/quotes?page=' + page++); /* ... */ }</script>`,
    ),
  };
}

export function quotesApi(state: QuotesState, req: DemoRequest): Answer {
  if (!state.loggedIn.has(req.cookies.session ?? '')) return json({ error: 'log in first' }, 401);
  const n = Number(req.query.get('page') ?? '1');
  const pages = Math.ceil(state.quotes.length / QUOTES_PER_PAGE);
  if (!Number.isInteger(n) || n < 1 || n > pages) return json({ error: 'no such page' }, 404);
  const quotes = state.quotes.slice((n - 1) * QUOTES_PER_PAGE, n * QUOTES_PER_PAGE).map((q) => ({
    author: { name: q.author, slug: q.author.toLowerCase().replaceAll(' ', '-') },
    tags: q.tags,
    text: q.text,
  }));
  return json({ has_next: n < pages, page: n, quotes, tag: null });
}
