/**
 * The demo's pages that need a browser: event pages whose content a script fetches and inserts,
 * and an infinite-scroll listing that loads the next page of its feed as the reader nears the
 * bottom. Without JavaScript each is an empty shell; each page also asks for an image and for a
 * URL on another host name, which a renderer blocks by default.
 */
import { type Answer, type DemoRequest, escapeHtml, json } from './answer.js';

export interface DemoEvent {
  id: number;
  title: string;
  city: string;
  date: string;
}

export interface DemoFeedEntry {
  id: number;
  name: string;
  score: number;
}

const CITIES = ['Lisbon', 'Oslo', 'Kyoto', 'Quito', 'Accra', 'Tbilisi'];
const TOPICS = ['Parsing', 'Crawling', 'Caching', 'Rendering', 'Scheduling', 'Storage'];
const FEED_PAGE = 10;
/** A 1x1 transparent PNG. */
const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

export function demoEvents(count = 6): DemoEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    title: `${TOPICS[i % TOPICS.length]} night ${i + 1}`,
    city: CITIES[(i * 5) % CITIES.length]!,
    date: `2026-0${(i % 9) + 1}-1${i % 10}`,
  }));
}

export function demoFeed(count = 30): DemoFeedEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    name: `Entry ${String(i + 1).padStart(2, '0')}`,
    score: (i * 37) % 100,
  }));
}

/** The answer for a path under /js/ (`rest` is what follows it). */
export function scriptedRoute(
  rest: string,
  req: DemoRequest,
  data: { events: readonly DemoEvent[]; feed: readonly DemoFeedEntry[] },
): Answer {
  if (rest === '') return scriptedIndex(data.events);
  if (rest === 'feed') return feedShell();
  if (rest === 'pixel.png') return pixel();
  if (rest === 'api/beacon') return { status: 204, body: '' };
  if (rest === 'api/feed') return feedApi(data.feed, Number(req.query.get('page') ?? 1));
  const event = /^(api\/)?events\/(\d+)$/.exec(rest);
  if (event) return (event[1] ? eventApi : eventShell)(data.events, Number(event[2]));
  return { status: 404 };
}

/** Links to every scripted page; plain HTML, so it needs no rendering itself. */
function scriptedIndex(events: readonly DemoEvent[]): Answer {
  const links = events.map((e) => `<li><a class="event" href="/js/events/${e.id}">Event ${e.id}</a></li>`);
  return page(
    'Scripted pages',
    `<ul>${links.join('')}</ul><p><a class="feed" href="/js/feed">The feed (infinite scroll)</a></p>`,
  );
}

/** The shell of an event page; its script fetches the event and inserts it. */
function eventShell(events: readonly DemoEvent[], id: number): Answer {
  if (!events.some((e) => e.id === id)) return { status: 404 };
  return page(
    'Event',
    `<div id="app">Loading…</div>
<script>
setTimeout(async () => {
  const e = await (await fetch('/js/api/events/${id}')).json();
  const app = document.getElementById('app');
  app.innerHTML = '<article class="event"><h1></h1><p class="city"></p><time></time><img src="/js/pixel.png"></article>';
  app.querySelector('h1').textContent = e.title;
  app.querySelector('.city').textContent = e.city;
  app.querySelector('time').textContent = e.date;
  fetch('http://localhost:' + location.port + '/js/api/beacon').catch(() => {});
}, 30);
</script>`,
  );
}

/** The shell of the feed: the first page loads at once, the next whenever the bottom comes into view. */
function feedShell(): Answer {
  return page(
    'Feed',
    `<ul id="feed"></ul><p id="more">Loading…</p>
<script>
let next = 1, busy = false;
async function load() {
  if (busy || next === 0) return;
  busy = true;
  const data = await (await fetch('/js/api/feed?page=' + next)).json();
  const list = document.getElementById('feed');
  for (const entry of data.entries) {
    const li = document.createElement('li');
    li.className = 'entry';
    li.dataset.id = entry.id;
    li.style.height = '120px';
    li.innerHTML = '<b class="name"></b> <span class="score"></span>';
    li.querySelector('.name').textContent = entry.name;
    li.querySelector('.score').textContent = entry.score;
    list.appendChild(li);
  }
  next = data.next;
  if (next === 0) document.getElementById('more').textContent = 'The end';
  busy = false;
}
addEventListener('scroll', () => {
  if (innerHeight + scrollY >= document.documentElement.scrollHeight - 50) load();
});
load();
</script>`,
  );
}

function eventApi(events: readonly DemoEvent[], id: number): Answer {
  const event = events.find((e) => e.id === id);
  return event ? json(event) : json({ error: 'no such event' }, 404);
}

/** One page of the feed; `next` is 0 after the last. */
function feedApi(feed: readonly DemoFeedEntry[], page: number): Answer {
  const start = (page - 1) * FEED_PAGE;
  const entries = page >= 1 ? feed.slice(start, start + FEED_PAGE) : [];
  return json({ entries, next: start + FEED_PAGE < feed.length ? page + 1 : 0 });
}

const pixel = (): Answer => ({ status: 200, body: PIXEL, type: 'image/png' });

function page(title: string, body: string): Answer {
  return {
    status: 200,
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} | Trawl Scripted</title></head><body>${body}</body></html>`,
  };
}
